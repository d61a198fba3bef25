using IoVirt.Backends.Net.Switching;

namespace IoVirt.Cli;

/// <summary>What <c>iovirt mux</c> reports of its switch on exit: each nic's port counters by name, and the uplink's (null without one).</summary>
internal sealed record SwitchReport(IReadOnlyDictionary<string, SwitchCounters> Nics, UplinkCounters? Uplink, int? Learned)
{
    public SwitchReport(NetSwitch netSwitch)
        : this(netSwitch.Ports.ToDictionary(port => port.Name, port => port.Counters), netSwitch.HasUplink ? netSwitch.UplinkCounters : null, netSwitch.HasUplink ? netSwitch.LearnedCount : null)
    {
    }
}
