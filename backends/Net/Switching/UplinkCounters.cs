namespace IoVirt.Backends.Net.Switching;

/// <summary>What crossed a switch's uplink, what it learned there, and what it refused from outside.</summary>
public sealed class UplinkCounters
{
    private long _received;
    private long _sent;
    private long _sendFailed;
    private long _learned;
    private long _learnRefused;
    private long _spoofed;
    private long _malformed;
    private long _receiverOverflowed;

    /// <summary>Frames taken from the uplink.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Frames the uplink accepted.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Frames the uplink refused (its queue full, its interface down).</summary>
    public long SendFailed => Interlocked.Read(ref _sendFailed);

    /// <summary>MACs learned on the uplink (new ones, not refreshes).</summary>
    public long Learned => Interlocked.Read(ref _learned);

    /// <summary>New MACs not learned because the table was full (their frames were still flooded).</summary>
    public long LearnRefused => Interlocked.Read(ref _learnRefused);

    /// <summary>Frames from the uplink whose source MAC was a guest port's (dropped).</summary>
    public long Spoofed => Interlocked.Read(ref _spoofed);

    /// <summary>Frames from the uplink dropped as unusable: too short, a multicast source, a bad or double VLAN tag.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Frames from the uplink that a port dropped because the uplink's inbound queue there was full.</summary>
    public long ReceiverOverflowed => Interlocked.Read(ref _receiverOverflowed);

    internal void Receive() => Interlocked.Increment(ref _received);

    internal void Send(bool accepted) => Interlocked.Increment(ref accepted ? ref _sent : ref _sendFailed);

    internal void Learn() => Interlocked.Increment(ref _learned);

    internal void RefuseLearning() => Interlocked.Increment(ref _learnRefused);

    internal void Spoof() => Interlocked.Increment(ref _spoofed);

    internal void Malform() => Interlocked.Increment(ref _malformed);

    internal void ReceiverOverflow() => Interlocked.Increment(ref _receiverOverflowed);
}
