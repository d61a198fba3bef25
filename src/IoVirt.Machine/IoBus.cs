namespace IoVirt.Machine;

/// <summary>
/// Address ranges and the devices behind them, for one address space (ports or MMIO). Ranges
/// may be added and removed while vCPUs run (PCI BARs move when the guest programs them):
/// the table is replaced whole and read without locks. An access no device claims reads as all
/// ones and writes nowhere, as on a PC bus.
/// </summary>
public sealed class IoBus
{
    private readonly Lock _writeLock = new();
    private Range[] _ranges = [];

    /// <summary>Claims [<paramref name="start"/>, +<paramref name="length"/>) for <paramref name="device"/>; overlaps are refused.</summary>
    public void Add(ulong start, ulong length, IBusDevice device)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        var end = checked(start + length);
        lock (_writeLock)
        {
            var existing = Array.Find(_ranges, r => start < r.End && r.Start < end);
            if (existing is not null)
            {
                throw new InvalidOperationException($"0x{start:x}+0x{length:x} overlaps 0x{existing.Start:x}+0x{existing.End - existing.Start:x}");
            }

            var ranges = new List<Range>(_ranges) { new(start, end, device) };
            ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
            Volatile.Write(ref _ranges, [.. ranges]);
        }
    }

    /// <summary>Releases the range that starts at <paramref name="start"/>, if there is one.</summary>
    public void Remove(ulong start)
    {
        lock (_writeLock)
        {
            Volatile.Write(ref _ranges, Array.FindAll(_ranges, r => r.Start != start));
        }
    }

    public void Read(ulong address, Span<byte> data)
    {
        if (Find(address, data.Length) is { } range)
        {
            range.Device.Read(address - range.Start, data);
        }
        else
        {
            data.Fill(0xff);
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (Find(address, data.Length) is { } range)
        {
            range.Device.Write(address - range.Start, data);
        }
    }

    /// <summary>The range holding the whole access, or null (an access straddling two ranges reaches neither).</summary>
    private Range? Find(ulong address, int length)
    {
        var ranges = Volatile.Read(ref _ranges);
        int low = 0, high = ranges.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var range = ranges[middle];
            if (address < range.Start)
            {
                high = middle - 1;
            }
            else if (address >= range.End)
            {
                low = middle + 1;
            }
            else
            {
                return (ulong)length <= range.End - address ? range : null;
            }
        }

        return null;
    }

    private sealed record Range(ulong Start, ulong End, IBusDevice Device);
}
