namespace IoVirt.Arbitration;

/// <summary>Why a request was dispatched.</summary>
public enum SchedulerPhase : byte
{
    /// <summary>Its tenant was behind on its reservation.</summary>
    Reservation,

    /// <summary>Spare capacity, shared by weight among tenants under their limits.</summary>
    Weight,
}
