namespace IoVirt.Backends.Net.Switching;

/// <summary>What a switch port's guest sent that the switch refused, and what it could not deliver to it or to the uplink.</summary>
public sealed class SwitchCounters
{
    private long _spoofed;
    private long _overflowed;
    private long _forwarded;
    private long _uplinkOverflowed;
    private long _uplinkSent;
    private long _receiverOverflowed;

    /// <summary>Frames whose source MAC was not the port's (dropped: a guest cannot pose as another).</summary>
    public long Spoofed => Interlocked.Read(ref _spoofed);

    /// <summary>Frames for this port dropped because their source's inbound queue at this port was full.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Frames from this port delivered to at least one other port or queued for the uplink.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Frames from this port for the uplink dropped because its uplink queue was full.</summary>
    public long UplinkOverflowed => Interlocked.Read(ref _uplinkOverflowed);

    /// <summary>Frames from this port the uplink's fair queue sent up (its share of the uplink).</summary>
    public long UplinkSent => Interlocked.Read(ref _uplinkSent);

    /// <summary>Frames from this port that another port dropped because this port's inbound queue there was full (it sent faster than its share).</summary>
    public long ReceiverOverflowed => Interlocked.Read(ref _receiverOverflowed);

    internal void Spoof() => Interlocked.Increment(ref _spoofed);

    internal void Overflow() => Interlocked.Increment(ref _overflowed);

    internal void Forward() => Interlocked.Increment(ref _forwarded);

    internal void UplinkOverflow() => Interlocked.Increment(ref _uplinkOverflowed);

    internal void SendUp() => Interlocked.Increment(ref _uplinkSent);

    internal void ReceiverOverflow() => Interlocked.Increment(ref _receiverOverflowed);
}
