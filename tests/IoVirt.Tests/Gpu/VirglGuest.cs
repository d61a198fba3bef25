using System.Diagnostics;
using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Memory;
using IoVirt.Testing;
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
        _queue = FirstRing.Start(_frontend, _memory);
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
        if (_copies != copies)
        {
            var stream = new VirglCommandStream();
            for (var i = 0; i < copies; i++)
            {
                stream.CopyRegion(1, 2, Side, Side);
            }

            (_copies, _copyStream) = (copies, stream.ToBytes());
        }

        var started = Stopwatch.GetTimestamp();
        Submit(_copyStream);
        return Stopwatch.GetElapsedTime(started);
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
        _fence++;
        GpuWire.Command(_memory, _queue, Scratch, new VirtioGpuCmdSubmit { Header = _context with { Type = VirtioGpuCtrlType.Submit3d, Flags = VirtioGpuCtrlFlags.Fence, FenceId = _fence }, StreamSize = (uint)stream.Length }, stream);
        Interlocked.Increment(ref _submissions);
    }
}
