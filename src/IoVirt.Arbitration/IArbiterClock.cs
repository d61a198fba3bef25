namespace IoVirt.Arbitration;

/// <summary>Time for the scheduler, in nanoseconds from an arbitrary start; injected so simulations run on their own time.</summary>
public interface IArbiterClock
{
    long NowNanoseconds { get; }
}
