using System.Text.Json;
using IoVirt.Interop;

namespace IoVirt.Backends.Blk.Volumes;

/// <summary>
/// The volumes carved out of one shared image, kept in a JSON file beside it: each a named
/// extent aligned to <see cref="Alignment"/>, never overlapping another. A new volume's extent
/// is zeroed before anyone sees it, so a guest never reads what an earlier volume left there.
/// The file is replaced atomically (written, synced, renamed) on every change; a table of a RAM
/// disk has no file, as its volumes end with the disk.
/// </summary>
public sealed class VolumeTable
{
    public const long Alignment = 1 << 20;

    private readonly BlockStore _store;
    private readonly string? _path;
    private readonly List<BlockVolume> _volumes;

    private VolumeTable(BlockStore store, string? path, List<BlockVolume> volumes)
    {
        _store = store;
        _path = path;
        _volumes = volumes;
    }

    public IReadOnlyList<BlockVolume> Volumes => _volumes;

    /// <summary>Where the table of the image <paramref name="imagePath"/> is kept: beside it.</summary>
    public static string PathFor(string imagePath) => imagePath + ".volumes.json";

    /// <summary>Loads the table at <paramref name="path"/> (an empty one if there is none), checking it against <paramref name="store"/>.</summary>
    public static VolumeTable Open(BlockStore store, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        var volumes = Read(path);
        var table = new VolumeTable(store, path, []);
        foreach (var volume in volumes.OrderBy(v => v.Offset))
        {
            table.Check(volume);
            table._volumes.Add(volume);
        }

        return table;
    }

    /// <summary>The volumes listed in the table at <paramref name="path"/>, by offset, unchecked (none if there is no table).</summary>
    public static IReadOnlyList<BlockVolume> Read(string path) =>
        File.Exists(path) ? [.. (JsonSerializer.Deserialize(File.ReadAllText(path), VolumeTableJson.Default.ListBlockVolume) ?? []).OrderBy(v => v.Offset)] : [];

    /// <summary>An empty table kept only in memory (for a RAM disk, whose volumes cannot outlive the process).</summary>
    public static VolumeTable CreateInMemory(BlockStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new VolumeTable(store, null, []);
    }

    public BlockVolume? Find(string name) => _volumes.Find(v => v.Name == name);

    /// <summary>
    /// The volume <paramref name="name"/>: the existing one, with the data it holds, if its size is
    /// <paramref name="size"/> rounded up to <see cref="Alignment"/> (throws if not), else a new zeroed one.
    /// </summary>
    public BlockVolume OpenOrCreate(string name, long size)
    {
        if (Find(name) is not { } existing)
        {
            return Create(name, size);
        }

        if (existing.Size != RoundUp(size))
        {
            throw new InvalidOperationException($"volume '{name}' exists with {existing.Size} bytes, not the {RoundUp(size)} asked for");
        }

        return existing;
    }

    /// <summary>Carves a zeroed volume of at least <paramref name="size"/> bytes from the first free extent that fits.</summary>
    public BlockVolume Create(string name, long size)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (Find(name) is not null)
        {
            throw new InvalidOperationException($"a volume named '{name}' exists already");
        }

        var rounded = RoundUp(size);
        long start = 0;
        foreach (var used in _volumes)
        {
            if (used.Offset - start >= rounded)
            {
                break;
            }

            start = used.End;
        }

        if ((ulong)(start + rounded) > _store.Size)
        {
            var holders = string.Join(", ", _volumes.Select(v => $"'{v.Name}' ({v.Size} bytes at {v.Offset})"));
            throw new InvalidOperationException(
                $"no free extent of {rounded} bytes for volume '{name}' in {_store.Name} ({_store.Size} bytes); {(holders.Length > 0 ? "held by " + holders : "the image is too small")}");
        }

        // A block device zeroes through BLKZEROOUT; a file deallocates, and a hole reads as zeros.
        var mode = BlockFile.FallocKeepSize | (_store.Buffered.IsBlockDevice ? BlockFile.FallocZeroRange : BlockFile.FallocPunchHole);
        var result = _store.Buffered.Allocate(mode, start, rounded);
        if (result != 0)
        {
            throw new IOException($"cannot zero {rounded} bytes at {start} of {_store.Name} for volume '{name}' (errno {-result})");
        }

        var volume = new BlockVolume(name, start, rounded);
        _volumes.Add(volume);
        _volumes.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        Save();
        return volume;
    }

    /// <summary>Forgets a volume; its extent is zeroed again when a new volume takes it.</summary>
    public void Remove(string name)
    {
        if (_volumes.RemoveAll(v => v.Name == name) == 0)
        {
            throw new InvalidOperationException($"no volume named '{name}'");
        }

        Save();
    }

    private static long RoundUp(long size) => (size + Alignment - 1) / Alignment * Alignment;

    private void Check(BlockVolume volume)
    {
        if (string.IsNullOrWhiteSpace(volume.Name) || volume.Offset < 0 || volume.Size <= 0
            || volume.Offset % Alignment != 0 || volume.Size % Alignment != 0 || (ulong)volume.End > _store.Size)
        {
            throw new InvalidDataException($"{_path}: volume {volume} is not an aligned extent inside {_store.Name}");
        }

        if (_volumes.Any(v => v.Name == volume.Name || (v.Offset < volume.End && volume.Offset < v.End)))
        {
            throw new InvalidDataException($"{_path}: volume {volume} overlaps or repeats another");
        }
    }

    private void Save()
    {
        if (_path is null)
        {
            return;
        }

        var temporary = _path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, _volumes, VolumeTableJson.Default.ListBlockVolume);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path, overwrite: true);
    }
}
