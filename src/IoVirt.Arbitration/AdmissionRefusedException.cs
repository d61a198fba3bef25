namespace IoVirt.Arbitration;

/// <summary>A tenant's reservation does not fit: the reservations would add up to more than the device's capacity.</summary>
public sealed class AdmissionRefusedException : InvalidOperationException
{
    public AdmissionRefusedException()
    {
    }

    public AdmissionRefusedException(string message)
        : base(message)
    {
    }

    public AdmissionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
