namespace IoVirt.Backends.Gpu;

/// <summary>
/// What one guest's resources may take together, 2D and 3D alike: each resource is charged when
/// it is made and given back when it goes. Used never passes the limit.
/// </summary>
internal sealed class ResourceQuota(ulong limit)
{
    /// <summary>Bytes charged now.</summary>
    public ulong Used { get; private set; }

    /// <summary>Charges <paramref name="bytes"/>; false, charging nothing, when they do not fit.</summary>
    public bool TryCharge(ulong bytes)
    {
        if (bytes > limit - Used)
        {
            return false;
        }

        Used += bytes;
        return true;
    }

    public void Release(ulong bytes) => Used -= bytes;
}
