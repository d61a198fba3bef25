using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// A guest driver for <see cref="GpuDevice"/> over real rings: each command is a readable request
/// buffer and a writable answer buffer in guest memory; the device processes the queue and the
/// answer is read back. Backing pages for resources live in the rest of the data area.
/// </summary>
internal sealed class GpuTestDriver : IDisposable
{
    /// <summary>Where requests go; answers follow them.</summary>
    private const ulong RequestArea = 0;
    private const ulong AnswerArea = 512 << 10;

    /// <summary>Guest bytes from here on are free for backing pages.</summary>
    public const ulong BackingArea = 1 << 20;

    private readonly QueueHarness _control;
    private readonly QueueHarness _cursor;

    public GpuTestDriver(GpuDevice device, ulong dataBytes = 8 << 20)
    {
        Device = device;
        _control = QueueHarness.Create(packed: false, 64, dataBytes: dataBytes);
        _cursor = QueueHarness.Create(packed: false, 16);
    }

    public GpuDevice Device { get; }

    /// <summary>Guest address of the backing area.</summary>
    public ulong Backing => _control.DataBase + BackingArea;

    public QueueHarness Control => _control;

    public void WriteGuest(ulong address, ReadOnlySpan<byte> bytes) => Assert.Equal(MemoryFault.None, _control.Memory.Write(address, bytes));

    /// <summary>Sends <paramref name="request"/>; returns the answer's bytes (as many as the device wrote).</summary>
    public byte[] SendRaw(ReadOnlySpan<byte> request, uint answerRoom = VirtioGpuRespEdid.Size)
    {
        var requestAt = _control.DataBase + RequestArea;
        var answerAt = _control.DataBase + AnswerArea;
        WriteGuest(requestAt, request);
        Assert.True(_control.Driver.TryAdd([new(requestAt, (uint)request.Length, false), new(answerAt, answerRoom, true)], false, out var id));
        _control.Driver.PublishAvail();
        Device.ProcessQueue(GpuDevice.ControlQueue, _control.Device);
        _control.Device.PublishUsed();
        Assert.Equal(QueueError.None, _control.Device.Fault);
        Assert.True(_control.Driver.TryTakeUsed(out var usedId, out var written));
        Assert.Equal(id, usedId);
        var answer = new byte[written];
        Assert.Equal(MemoryFault.None, _control.Memory.Read(answerAt, answer));
        return answer;
    }

    /// <summary>Sends a command struct (and what follows it); returns the answer's header.</summary>
    public VirtioGpuCtrlHeader Send<T>(T command, ReadOnlySpan<byte> trailer = default)
        where T : unmanaged
    {
        var answer = SendRaw([.. MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in command)), .. trailer]);
        return MemoryMarshal.Read<VirtioGpuCtrlHeader>(answer);
    }

    public void SendCursor(VirtioGpuUpdateCursor command)
    {
        var at = _cursor.DataBase;
        Assert.Equal(MemoryFault.None, _cursor.Memory.Write(at, MemoryMarshal.AsBytes(new ReadOnlySpan<VirtioGpuUpdateCursor>(in command))));
        Assert.True(_cursor.Driver.TryAdd([new(at, VirtioGpuUpdateCursor.Size, false)], false, out _));
        _cursor.Driver.PublishAvail();
        Device.ProcessQueue(GpuDevice.CursorQueue, _cursor.Device);
        _cursor.Device.PublishUsed();
        Assert.True(_cursor.Driver.TryTakeUsed(out _, out var written));
        Assert.Equal(0U, written);
    }

    public static VirtioGpuCtrlHeader Header(VirtioGpuCtrlType type) => new() { Type = type };

    public VirtioGpuCtrlType Create(uint id, uint width, uint height, VirtioGpuFormat format = VirtioGpuFormat.B8G8R8X8Unorm) =>
        Send(new VirtioGpuResourceCreate2d { Header = Header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = id, Format = format, Width = width, Height = height }).Type;

    public VirtioGpuCtrlType Attach(uint id, params (ulong Address, uint Length)[] pieces)
    {
        var entries = pieces.Select(p => new VirtioGpuMemEntry { Addr = p.Address, Length = p.Length }).ToArray();
        return Send(
            new VirtioGpuResourceAttachBacking { Header = Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = id, NrEntries = (uint)entries.Length },
            MemoryMarshal.AsBytes(entries.AsSpan())).Type;
    }

    public VirtioGpuCtrlType Transfer(uint id, VirtioGpuRect rect, ulong offset) =>
        Send(new VirtioGpuTransferToHost2d { Header = Header(VirtioGpuCtrlType.TransferToHost2d), ResourceId = id, Rect = rect, Offset = offset }).Type;

    public VirtioGpuCtrlType SetScanout(uint scanout, uint id, VirtioGpuRect rect) =>
        Send(new VirtioGpuSetScanout { Header = Header(VirtioGpuCtrlType.SetScanout), ScanoutId = scanout, ResourceId = id, Rect = rect }).Type;

    public VirtioGpuCtrlType Flush(uint id, VirtioGpuRect rect) =>
        Send(new VirtioGpuResourceFlush { Header = Header(VirtioGpuCtrlType.ResourceFlush), ResourceId = id, Rect = rect }).Type;

    public VirtioGpuCtrlType Unref(uint id) =>
        Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.ResourceUnref), ResourceId = id }).Type;

    public VirtioGpuCtrlType Detach(uint id) =>
        Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.ResourceDetachBacking), ResourceId = id }).Type;

    public void Dispose()
    {
        Device.Dispose();
        _control.Dispose();
        _cursor.Dispose();
    }
}

/// <summary>Keeps what the device showed: each scanout's last frame and its changes.</summary>
internal sealed class RecordingDisplay : IGpuDisplay
{
    public Dictionary<int, (uint Width, uint Height)> Scanouts { get; } = [];

    public Dictionary<int, byte[]> Frames { get; } = [];

    public List<(int Scanout, VirtioGpuRect Damage)> Flushes { get; } = [];

    public List<(int Scanout, uint X, uint Y, bool Visible, byte[]? Image)> CursorEvents { get; } = [];

    /// <summary>The modes this display answers with, as a VMM's display does; null: none of its own.</summary>
    public VirtioGpuDisplayOne[]? Modes { get; set; }

    public void ScanoutChanged(int scanout, uint width, uint height) => Scanouts[scanout] = (width, height);

    public bool TryGetModes(Span<VirtioGpuDisplayOne> modes)
    {
        Modes?.AsSpan(0, modes.Length).CopyTo(modes);
        return Modes is not null;
    }

    public void MoveCursor(int scanout, uint x, uint y, bool visible) => CursorEvents.Add((scanout, x, y, visible, null));

    public void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image) => CursorEvents.Add((scanout, x, y, true, image.Pixels.ToArray()));

    public void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage)
    {
        // The frame's rows, packed (the resource's stride may be wider than the scanout).
        var rowBytes = (int)frame.Width * 4;
        var packed = new byte[rowBytes * (int)frame.Height];
        for (var y = 0; y < frame.Height; y++)
        {
            frame.Pixels.Slice(y * frame.Stride, rowBytes).CopyTo(packed.AsSpan(y * rowBytes));
        }

        Frames[scanout] = packed;
        Flushes.Add((scanout, damage));
    }
}
