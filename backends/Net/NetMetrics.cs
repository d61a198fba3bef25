using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IoVirt.Backends.Net.Switching;

namespace IoVirt.Backends.Net;

/// <summary>
/// Network devices' and switches' figures through System.Diagnostics.Metrics (meter
/// "IoVirt.Backends.Net"): frames, bytes and drops by direction for each device, and for each
/// switch port the frames it refused (spoofed source MACs) and lost to full queues. Every value
/// is read from the counters the data path keeps anyway, when a collector asks, so recording
/// costs the data path nothing. One instance serves every device and switch of a process.
/// </summary>
public sealed class NetMetrics : IDisposable
{
    public const string MeterName = "IoVirt.Backends.Net";

    private readonly ConcurrentDictionary<NetDevice, string> _devices = new();
    private readonly ConcurrentDictionary<NetSwitch, byte> _switches = new();

    public NetMetrics(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Meter.CreateObservableCounter("iovirt.net.frames", ObserveFrames, "{frame}", "Frames the guest sent (tx) and was given (rx)");
        Meter.CreateObservableCounter("iovirt.net.data", ObserveBytes, "By", "Bytes of those frames");
        Meter.CreateObservableCounter("iovirt.net.drops", ObserveDrops, "{frame}", "Frames lost, by direction and reason");
        Meter.CreateObservableCounter("iovirt.switch.spoofs", ObserveSpoofs, "{frame}", "Frames refused for a source MAC that was not the sender's (port \"uplink\": from outside with a guest's MAC)");
        Meter.CreateObservableCounter("iovirt.switch.drops", ObserveSwitchDrops, "{frame}", "Frames a switch lost to a full queue, by the port that sent them");
    }

    /// <summary>The meter the instruments are on.</summary>
    public Meter Meter { get; }

    /// <summary>Reports <paramref name="device"/>'s counters as <paramref name="name"/> until it is removed.</summary>
    public void Add(NetDevice device, string name)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _devices[device] = name;
    }

    public void Remove(NetDevice device) => _devices.TryRemove(device, out _);

    /// <summary>Reports each of <paramref name="netSwitch"/>'s ports (by name) and its uplink until it is removed.</summary>
    public void Add(NetSwitch netSwitch)
    {
        ArgumentNullException.ThrowIfNull(netSwitch);
        _switches[netSwitch] = 0;
    }

    public void Remove(NetSwitch netSwitch) => _switches.TryRemove(netSwitch, out _);

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveFrames()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.TxFrames, name, "tx");
            yield return Measure(totals.RxFrames, name, "rx");
        }
    }

    private IEnumerable<Measurement<long>> ObserveBytes()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.TxBytes, name, "tx");
            yield return Measure(totals.RxBytes, name, "rx");
        }
    }

    private IEnumerable<Measurement<long>> ObserveDrops()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.TxDropped, name, "tx", "port_full");
            yield return Measure(totals.TxInvalid, name, "tx", "invalid");
            yield return Measure(totals.RxDropped, name, "rx", "no_buffer");
            yield return Measure(totals.RxFiltered, name, "rx", "filtered");
        }
    }

    private IEnumerable<Measurement<long>> ObserveSpoofs()
    {
        foreach (var netSwitch in _switches.Keys)
        {
            foreach (var port in netSwitch.Ports)
            {
                yield return new(port.Counters.Spoofed, new KeyValuePair<string, object?>("port", port.Name));
            }

            if (netSwitch.HasUplink)
            {
                yield return new(netSwitch.UplinkCounters.Spoofed, new KeyValuePair<string, object?>("port", "uplink"));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveSwitchDrops()
    {
        foreach (var netSwitch in _switches.Keys)
        {
            foreach (var port in netSwitch.Ports)
            {
                var counters = port.Counters;
                yield return new(counters.ReceiverOverflowed, new("port", port.Name), new("reason", "receiver_full"));
                yield return new(counters.UplinkOverflowed, new("port", port.Name), new("reason", "uplink_full"));
            }

            if (netSwitch.HasUplink)
            {
                yield return new(netSwitch.UplinkCounters.ReceiverOverflowed, new("port", "uplink"), new("reason", "receiver_full"));
            }
        }
    }

    private static Measurement<long> Measure(long value, string device, string direction) =>
        new(value, new("device", device), new("direction", direction));

    private static Measurement<long> Measure(long value, string device, string direction, string reason) =>
        new(value, new("device", device), new("direction", direction), new("reason", reason));
}
