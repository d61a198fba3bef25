using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.Net;

/// <summary>A <see cref="NetSwitch"/> and its guests, each a network device on its own socket driven as a guest driver would.</summary>
internal sealed class SwitchBed(INetPort? uplink = null, UplinkOptions? options = null, ILogger? log = null) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public NetSwitch Switch { get; } = new(uplink: uplink, options: options, log: log);

    public (SwitchPort Port, NetDriver Driver) Guest(string name, byte[] mac, ushort vlan = 0, int receiveBuffers = 32, int weight = 1)
    {
        var address = MacAddress.Read(mac);
        var port = Switch.AddPort(name, address, vlan, weight);
        var device = new NetDevice(port, new NetDeviceOptions { Mac = address });
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
