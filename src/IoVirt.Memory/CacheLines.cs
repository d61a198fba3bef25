namespace IoVirt.Memory;

/// <summary>
/// The start of a guest buffer as mapped in this process, <see cref="GuestMemory.PrefetchBytes"/>
/// at most, whose cache lines a prefetch reads (see <see cref="GuestMemory.TryLocateStart"/>).
/// </summary>
public readonly unsafe struct CacheLines
{
    private const uint LineSize = 64;

    private readonly byte* _host;
    private readonly uint _length;

    internal CacheLines(byte* host, uint length)
    {
        _host = host;
        _length = length;
    }

    /// <summary>
    /// Reads one byte of each line. The reads depend on nothing, so the CPU keeps them all in
    /// flight at once (measured here, that beat the prefetch instruction, which the CPU may drop).
    /// </summary>
    public void Touch()
    {
        if (_length == 0)
        {
            return; // default: nothing located
        }

        // A volatile read is never optimised away.
        var last = (nuint)_host + _length - 1;
        for (var at = (nuint)_host; at <= last; at = (at & ~(nuint)(LineSize - 1)) + LineSize)
        {
            _ = Volatile.Read(ref *(byte*)at);
        }
    }
}
