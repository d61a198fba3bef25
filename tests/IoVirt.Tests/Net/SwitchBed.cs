using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.Net;

/// <summary>A <see cref="NetSwitch"/> and its guests, each a network device on its own socket driven as a guest driver would.</summary>
internal sealed class SwitchBed : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly NetMetrics? _metrics;

    /// <param name="uplink">The switch's uplink; none when null.</param>
    /// <param name="options">The uplink's options; defaults when null.</param>
    /// <param name="log">Where the switch logs; nowhere when null.</param>
    /// <param name="metrics">Where the switch's and each guest's device's figures go (the device by the guest's name); nowhere when null.</param>
    public SwitchBed(INetPort? uplink = null, UplinkOptions? options = null, ILogger? log = null, NetMetrics? metrics = null)
    {
        Switch = new(uplink: uplink, options: options, log: log);
        _metrics = metrics;
        metrics?.Add(Switch);
    }

    public NetSwitch Switch { get; }

    /// <summary>Each guest's device, by the guest's name.</summary>
    public Dictionary<string, NetDevice> Devices { get; } = [];

    public (SwitchPort Port, NetDriver Driver) Guest(string name, byte[] mac, ushort vlan = 0, int receiveBuffers = 32, int weight = 1)
    {
        var address = MacAddress.Read(mac);
        var port = Switch.AddPort(name, address, vlan, weight);
        var device = new NetDevice(port, new NetDeviceOptions { Mac = address });
        Devices[name] = device;
        _metrics?.Add(device, name);
        var bed = new VhostUserTestBed(device);
        var driver = new NetDriver(bed.SocketPath, bed.Memory, NetBed.DriverFeatures);
        driver.PostReceiveBuffers(receiveBuffers);
        _owned.Add(bed);
        _owned.Add(driver);
        return (port, driver);
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        Switch.Dispose();
    }
}
