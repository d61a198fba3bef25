using IoVirt.Arbitration;
using IoVirt.Backends.Net.Switching;

namespace IoVirt.Backends.Mux;

/// <summary>
/// What a <see cref="Multiplexer"/> reports: the disks' arbiter (each disk's totals by name, the
/// window and the capacity estimate; null without disks), each nic's port counters by name, and
/// the switch's uplink (null without one).
/// </summary>
public sealed record MuxReport(ArbiterReport? Disks, IReadOnlyDictionary<string, SwitchCounters> Nics, UplinkCounters? Uplink, int? Learned)
{
    public MuxReport(DeviceArbiter? arbiter, NetSwitch netSwitch)
        : this(
            arbiter?.Report(),
            netSwitch.Ports.ToDictionary(port => port.Name, port => port.Counters),
            netSwitch.HasUplink ? netSwitch.UplinkCounters : null,
            netSwitch.HasUplink ? netSwitch.LearnedCount : null)
    {
    }
}
