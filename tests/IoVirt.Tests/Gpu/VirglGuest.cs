using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// A VM-free guest with a 3D driver on a vhost-user GPU: context 1, a <see cref="Side"/>-square
/// R8G8B8A8 render target (resource 1, with backing) set as its framebuffer, and a texture of the
/// same size (resource 2); then fenced SUBMIT_3Ds of whole-texture copies from 2 to 1, as much
/// GPU work as the number of copies (clears would not do: the GPU merges them). One thread drives it.
/// </summary>
internal sealed class VirglGuest : IDisposable
{
    private const ulong Scratch = VhostUserTestBed.MemoryBase + 0x8_0000;
    private const ulong Backing = VhostUserTestBed.MemoryBase + 0x10_0000;

    /// <summary>
    /// Submissions <see cref="DrawQueued"/> keeps on the ring, of two descriptors each: several
    /// milliseconds of GPU work, so the device still has some when the thread refilling them
    /// waits a scheduler's time slice for a core.
    /// </summary>
    private const int Depth = 32;

    /// <summary>Room for one queued submission and its stream, from <see cref="Scratch"/> on.</summary>
    private const ulong SlotBytes = 0x200;

    /// <summary>Where queued submissions are answered, 64 bytes each (past the slots, clear of <see cref="GpuWire.Command"/>'s answer).</summary>
    private const ulong Answers = Scratch + 0xC000;

    private readonly GuestMemory _memory;
    private readonly VhostUserFrontend _frontend;
    private readonly FrontendQueue _queue;
    private readonly VirtioGpuCtrlHeader _context = new() { Type = VirtioGpuCtrlType.CtxCreate, CtxId = 1 };
    private ulong _fence;
    private int _copies;
    private byte[] _copyStream = [];

    public VirglGuest(string socket, uint side)
    {
        Side = side;
        _memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 0x10_0000 + (((ulong)side * side * 4) + 0xf_ffff & ~0xf_ffffUL)));
        _frontend = VhostUserFrontend.Connect(socket);
        _queue = FirstRing.Start(_frontend, _memory, 2 * Depth);
        GpuWire.Command(_memory, _queue, Scratch, new VirtioGpuCtxCreate { Header = _context });
        Assert.Equal(VirtioGpuCtrlType.OkNoData, Create(1, side));
        GpuWire.Command(_memory, _queue, Scratch, new VirtioGpuResourceAttachBacking { Header = GpuWire.Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 1, NrEntries = 1 }, MemoryMarshal.AsBytes([new VirtioGpuMemEntry { Addr = Backing, Length = side * side * 4 }]));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, Create(2, side));
        foreach (var id in (uint[])[1, 2])
        {
            GpuWire.Command(_memory, _queue, Scratch, new VirtioGpuResourceIdCommand { Header = _context with { Type = VirtioGpuCtrlType.CtxAttachResource }, ResourceId = id });
        }

        Submit(new VirglCommandStream().Surface(1, 1, (uint)VirtioGpuFormat.R8G8B8A8Unorm).Framebuffer(1).ToBytes());
    }

    public uint Side { get; }

    /// <summary>Submissions answered so far (read from any thread).</summary>
    public long Submissions => Volatile.Read(ref _submissions);

    private long _submissions;

    /// <summary>One fenced submission of <paramref name="copies"/> whole-texture copies; returns how long it took to be answered.</summary>
    public TimeSpan Draw(int copies)
    {
        var stream = CopyStream(copies);
        var started = Stopwatch.GetTimestamp();
        Submit(stream);
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Fenced submissions of <paramref name="copies"/> whole-texture copies until
    /// <paramref name="stopping"/> says so, <see cref="Depth"/> on the ring at a time, as a busy
    /// guest's driver keeps its queue: the device takes the next one as the last ends, so the
    /// guest wants the GPU all the time even when this thread is slow to come back (a guest
    /// waiting on each answer gives its turn back whenever its thread is late). Each answer is checked.
    /// </summary>
    public void DrawQueued(int copies, Func<bool> stopping)
    {
        ArgumentNullException.ThrowIfNull(stopping);
        var stream = CopyStream(copies);
        var size = (uint)Unsafe.SizeOf<VirtioGpuCmdSubmit>();
        Assert.True(size + (ulong)stream.Length <= SlotBytes, "the submission does not fit its slot");
        var slotOfId = new int[2 * Depth];
        var free = new Stack<int>(Enumerable.Range(0, Depth));
        while (free.Count < Depth || !stopping())
        {
            while (free.Count > 0 && !stopping())
            {
                var slot = free.Pop();
                var command = Scratch + ((ulong)slot * SlotBytes);
                var submit = NextSubmission(stream);
                if (_memory.Write(command, MemoryMarshal.AsBytes(new ReadOnlySpan<VirtioGpuCmdSubmit>(in submit))) != MemoryFault.None || _memory.Write(command + size, stream) != MemoryFault.None)
                {
                    Assert.Fail("a slot is outside guest memory");
                }

                Assert.True(_queue.Driver.TryAdd([new DriverBuffer(command, size + (uint)stream.Length, false), new DriverBuffer(Answers + ((ulong)slot * 64), 64, true)], false, out var id));
                slotOfId[id] = slot;
            }

            _queue.Submit();
            if (!_queue.TryWaitUsed(out var used, out var written, 30_000))
            {
                Assert.Fail("a queued submission was not answered");
            }

            var answered = slotOfId[used];
            if (GpuWire.HeaderAnswer(_memory, Answers + ((ulong)answered * 64), written, "a queued submission") is var type and not VirtioGpuCtrlType.OkNoData)
            {
                Assert.Fail($"a queued submission was answered {type}");
            }

            free.Push(answered);
            Interlocked.Increment(ref _submissions);
        }
    }

    /// <summary>RESOURCE_CREATE_3D of a <paramref name="side"/>-square R8G8B8A8 render target; the answer.</summary>
    public VirtioGpuCtrlType Create(uint id, uint side) => GpuWire.Answer(_memory, _queue, Scratch, GpuWire.RenderTarget(id, side, side));

    /// <summary>RESOURCE_UNREF; the answer.</summary>
    public VirtioGpuCtrlType Unref(uint id) =>
        GpuWire.Answer(_memory, _queue, Scratch, new VirtioGpuResourceIdCommand { Header = GpuWire.Header(VirtioGpuCtrlType.ResourceUnref), ResourceId = id });

    public void Dispose()
    {
        _queue.Dispose();
        _frontend.Dispose();
        _memory.Dispose();
    }

    private void Submit(byte[] stream)
    {
        GpuWire.Command(_memory, _queue, Scratch, NextSubmission(stream), stream);
        Interlocked.Increment(ref _submissions);
    }

    /// <summary>A SUBMIT_3D of <paramref name="stream"/> under the next fence.</summary>
    private VirtioGpuCmdSubmit NextSubmission(byte[] stream) =>
        new() { Header = _context with { Type = VirtioGpuCtrlType.Submit3d, Flags = VirtioGpuCtrlFlags.Fence, FenceId = ++_fence }, StreamSize = (uint)stream.Length };

    /// <summary>The virgl stream of <paramref name="copies"/> whole-texture copies from 2 to 1 (the last one asked for is kept).</summary>
    private byte[] CopyStream(int copies)
    {
        if (_copies != copies)
        {
            var stream = new VirglCommandStream();
            for (var i = 0; i < copies; i++)
            {
                stream.CopyRegion(1, 2, Side, Side);
            }

            (_copies, _copyStream) = (copies, stream.ToBytes());
        }

        return _copyStream;
    }
}
