namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// The expected content of each block of a verifying load run: the generation of the last write
/// to it that completed OK in this run, or none (the block may hold zeros or any whole stamp of
/// its own sectors by this device's tag: an earlier run's, or a write that failed). A block with
/// a request outstanding is busy, so no read races a write to it. Counts the bytes checked and
/// the sectors that held something else, and keeps the first few of those to report.
/// </summary>
public sealed class BlockVerifier(ulong blocks, int sectorsPerBlock, ulong tag)
{
    private const int SectorSize = 512;
    private const int MismatchesKept = 8;

    private readonly ulong[] _generation = new ulong[blocks];
    private readonly bool[] _busy = new bool[blocks];
    private readonly List<string> _mismatches = [];
    private ulong _lastGeneration;

    public long VerifiedBytes { get; private set; }

    public long Mismatches { get; private set; }

    /// <summary>The first mismatches, in words.</summary>
    public IReadOnlyList<string> FirstMismatches => _mismatches;

    public bool IsBusy(ulong block) => _busy[block];

    /// <summary>Stamps <paramref name="data"/> for a write to <paramref name="block"/>; the generation it carries.</summary>
    public ulong BeginWrite(ulong block, Span<byte> data)
    {
        _busy[block] = true;
        var generation = ++_lastGeneration;
        BlockStamp.Write(data[..(sectorsPerBlock * SectorSize)], block * (ulong)sectorsPerBlock, generation, tag);
        return generation;
    }

    public void BeginRead(ulong block) => _busy[block] = true;

    /// <summary>A write finished: its data is what the block holds now if it succeeded; unknown if not.</summary>
    public void EndWrite(ulong block, ulong generation, bool succeeded)
    {
        _busy[block] = false;
        _generation[block] = succeeded ? generation : 0;
    }

    /// <summary>A read failed (an error status): nothing to check.</summary>
    public void EndFailedRead(ulong block) => _busy[block] = false;

    /// <summary>A read finished OK: checks every sector against what the block must hold.</summary>
    public void EndRead(ulong block, ReadOnlySpan<byte> data)
    {
        _busy[block] = false;
        var expected = _generation[block];
        var first = block * (ulong)sectorsPerBlock;
        for (var i = 0; i < sectorsPerBlock; i++)
        {
            var number = first + (ulong)i;
            var reading = BlockStamp.Read(data.Slice(i * SectorSize, SectorSize), number, tag, out var generation);
            var correct = expected == 0
                ? reading != BlockStamp.Reading.Foreign
                : reading == BlockStamp.Reading.Stamped && generation == expected;
            if (!correct)
            {
                Mismatches++;
                if (_mismatches.Count < MismatchesKept)
                {
                    _mismatches.Add($"sector {number}: expected {(expected == 0 ? "zeros or an earlier stamp" : $"generation {expected}")}, read {Describe(reading, generation)}");
                }
            }
        }

        VerifiedBytes += sectorsPerBlock * SectorSize;
    }

    private static string Describe(BlockStamp.Reading reading, ulong generation) => reading switch
    {
        BlockStamp.Reading.Zero => "zeros",
        BlockStamp.Reading.Stamped => $"generation {generation}",
        _ => "foreign or damaged data",
    };
}
