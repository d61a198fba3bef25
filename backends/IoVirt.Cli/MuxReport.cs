using IoVirt.Arbitration;
using IoVirt.Backends.Net.Switching;

namespace IoVirt.Cli;

/// <summary>
/// What <c>iovirt mux</c> reports: the disks' arbiter (each disk's totals by name, the window and
/// the capacity estimate; null without disks), each nic's port counters by name, and the
/// switch's uplink (null without one).
/// </summary>
internal sealed record MuxReport(ArbiterReport? Disks, IReadOnlyDictionary<string, SwitchCounters> Nics, UplinkCounters? Uplink, int? Learned)
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
