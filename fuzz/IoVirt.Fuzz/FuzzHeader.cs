using System.Buffers.Binary;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Fuzz;

/// <summary>Switches in header byte 0: negotiated ring features and which guest memory map to build.</summary>
[Flags]
public enum FuzzFlags : byte
{
    None = 0,
    EventIdx = 1,
    Indirect = 2,
    /// <summary>Ring parts at the addresses in header bytes 8-13 instead of <see cref="FuzzLayout.Ring"/>'s.</summary>
    CustomRing = 4,
    /// <summary>A second region right after the main one, so buffers can cross a region boundary.</summary>
    AdjacentRegion = 8,
    /// <summary>A region in the last pages below 2^64, so lengths can run into the end of the address space.</summary>
    HighRegion = 16,
    /// <summary>The device writes into the writable buffers it is given (which may be the ring itself).</summary>
    WriteBuffers = 32,
    /// <summary>The first chain is popped, put back with UndoLastPop and popped again.</summary>
    UndoFirstPop = 64,
    DisableNotifications = 128,
}

/// <summary>Switches in header byte 14: how the device completes chains.</summary>
[Flags]
public enum FuzzOptions : byte
{
    None = 0,
    /// <summary>Each batch is completed in the reverse of pop order.</summary>
    ReverseCompletion = 1,
    /// <summary>After the first batch the queue is rebound to a new snapshot with one more region.</summary>
    Rebind = 2,
    /// <summary>Writes are logged into dirty bitmaps.</summary>
    DirtyLog = 4,
}

/// <summary>
/// The first <see cref="Size"/> bytes of a fuzz input; the rest is the image of guest memory
/// from <see cref="FuzzLayout.RegionBase"/>. Every byte string decodes to some header: short
/// inputs read as zeros.
/// <code>
///  0     FuzzFlags
///  1     queue size selector (see QueueSize)
///  2-3   device position in the available ring (le16; packed: offset | wrap &lt;&lt; 15)
///  4-5   device position in the used ring (same encoding)
///  6     main region size: (value % 64 + 1) pages of 4 KiB
///  7     batch: (value % 16 + 1) chains popped before they are completed
///  8-13  with CustomRing: descriptor, driver and device area as le16 offsets from RegionBase - 4096
///  14    FuzzOptions
///  15    byte the device writes into writable buffers
/// </code>
/// </summary>
public readonly record struct FuzzHeader(
    FuzzFlags Flags,
    byte SizeSelector,
    ushort AvailPosition,
    ushort UsedPosition,
    byte Pages,
    byte Batch,
    ushort DescriptorOffset,
    ushort DriverOffset,
    ushort DeviceOffset,
    FuzzOptions Options,
    byte Fill)
{
    public const int Size = 16;

    /// <summary>Largest batch a header can ask for.</summary>
    public const int MaxBatch = 16;

    public static FuzzHeader Parse(ReadOnlySpan<byte> input)
    {
        Span<byte> h = stackalloc byte[Size];
        h.Clear();
        input[..Math.Min(input.Length, Size)].CopyTo(h);
        return new FuzzHeader(
            (FuzzFlags)h[0],
            h[1],
            BinaryPrimitives.ReadUInt16LittleEndian(h[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(h[4..]),
            h[6],
            h[7],
            BinaryPrimitives.ReadUInt16LittleEndian(h[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(h[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(h[12..]),
            (FuzzOptions)h[14],
            h[15]);
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Flags;
        destination[1] = SizeSelector;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], AvailPosition);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], UsedPosition);
        destination[6] = Pages;
        destination[7] = Batch;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], DescriptorOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], DriverOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[12..], DeviceOffset);
        destination[14] = (byte)Options;
        destination[15] = Fill;
    }

    public bool Has(FuzzFlags flag) => (Flags & flag) != 0;

    public bool Has(FuzzOptions option) => (Options & option) != 0;

    /// <summary>Bytes of the main region.</summary>
    public ulong RegionBytes => ((ulong)(Pages % 64) + 1) * FuzzLayout.PageSize;

    public int BatchSize => (Batch % MaxBatch) + 1;

    /// <summary>
    /// Split: selectors below 0xF0 give the powers of two 1 to 256; 0xF0-0xFD are taken as the size
    /// itself (not powers of two), 0xFE is 0 and 0xFF is 65536, all of which the queue must reject.
    /// Packed: selector + 1 (1 to 254), except 0xFE (0) and 0xFF (32769), which it must reject.
    /// </summary>
    public int QueueSize(bool packed) => (packed, SizeSelector) switch
    {
        (_, 0xFE) => 0,
        (false, 0xFF) => 65536,
        (true, 0xFF) => 32769,
        (false, >= 0xF0) => SizeSelector,
        (false, _) => 1 << (SizeSelector % 9),
        (true, _) => SizeSelector + 1,
    };

    /// <summary>The selector that <see cref="QueueSize"/> turns into <paramref name="size"/> (a valid size).</summary>
    public static byte SelectorFor(bool packed, int size)
    {
        if (packed)
        {
            return size is >= 1 and <= 254 ? (byte)(size - 1) : throw new ArgumentOutOfRangeException(nameof(size));
        }

        return size is >= 1 and <= 256 && (size & (size - 1)) == 0
            ? (byte)System.Numerics.BitOperations.Log2((uint)size)
            : throw new ArgumentOutOfRangeException(nameof(size));
    }

    /// <summary>
    /// The device's starting position. Split indices are free-running. Packed offsets are taken
    /// modulo size + 1, so every size has valid offsets and one invalid one (size itself).
    /// </summary>
    public QueuePosition Position(bool packed, int size)
    {
        if (!packed)
        {
            return new QueuePosition(AvailPosition, false, UsedPosition, false);
        }

        var modulus = (ushort)Math.Min(size + 1, 0x8000);
        return new QueuePosition(
            (ushort)((AvailPosition & 0x7fff) % modulus),
            (AvailPosition & 0x8000) != 0,
            (ushort)((UsedPosition & 0x7fff) % modulus),
            (UsedPosition & 0x8000) != 0);
    }

    /// <summary>Encodes a device position the way <see cref="Position"/> decodes it.</summary>
    public static (ushort Avail, ushort Used) EncodePosition(bool packed, QueuePosition position) => packed
        ? ((ushort)(position.NextAvail | (position.AvailWrap ? 0x8000 : 0)), (ushort)(position.NextUsed | (position.UsedWrap ? 0x8000 : 0)))
        : (position.NextAvail, position.NextUsed);

    /// <summary>The queue configuration: <see cref="FuzzLayout.Ring"/> at the region base, or the custom addresses.</summary>
    public QueueConfig Config(bool packed, int size)
    {
        var eventIdx = Has(FuzzFlags.EventIdx);
        var indirect = Has(FuzzFlags.Indirect);
        if (Has(FuzzFlags.CustomRing))
        {
            return new QueueConfig(
                size,
                FuzzLayout.RingOffsetBase + DescriptorOffset,
                FuzzLayout.RingOffsetBase + DriverOffset,
                FuzzLayout.RingOffsetBase + DeviceOffset,
                eventIdx,
                indirect);
        }

        // Sizes the queue rejects still get a layout (from a size the layout code accepts), so
        // TryCreate sees them.
        var config = FuzzLayout.Ring(packed, Math.Clamp(size, 1, 256), eventIdx, indirect);
        return config with { Size = size };
    }

    /// <summary>The device queue this header describes in <paramref name="memory"/>, or null when the queue refuses it.</summary>
    public DeviceQueue? CreateQueue(GuestMemory memory, bool packed)
    {
        var size = QueueSize(packed);
        var config = Config(packed, size);
        var position = Position(packed, size);
        if (packed)
        {
            _ = PackedQueue.TryCreate(memory, config, position, out var queue);
            return queue;
        }

        _ = SplitQueue.TryCreate(memory, config, position, out var split);
        return split;
    }
}
