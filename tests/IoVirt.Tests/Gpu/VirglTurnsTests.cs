using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// What a 3D device on a shared GPU tells its turns: each submission runs inside a turn whose end
/// says whether the guest has more commands queued, the control queue is answered a command at a
/// time, and a stopping queue or a reset withdraws what was queued.
/// </summary>
[Collection(VirglCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirglTurnsTests : IDisposable
{
    private const uint Context = 1;

    private readonly RecordingTurns _turns = new();
    private readonly GpuTestDriver _gpu;

    public VirglTurnsTests() =>
        _gpu = new GpuTestDriver(new GpuDevice(new GpuDeviceOptions { Virgl = true, MaxResourceBytes = 1 << 20, FenceTimeout = TimeSpan.FromSeconds(30) }, new RecordingDisplay(), _turns));

    [Fact]
    public void Each_submission_ends_its_turn_saying_whether_more_wait_and_is_answered_before_the_next_runs()
    {
        // A render target in the context, cleared by each submission.
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuCtxCreate { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.CtxCreate, CtxId = Context } }).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(GpuWire.RenderTarget(1, 16, 16)).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(1, (_gpu.Backing, 16 * 16 * 4)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuResourceIdCommand { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.CtxAttachResource, CtxId = Context }, ResourceId = 1 }).Type);
        var stream = new VirglCommandStream().Surface(1, 1, (uint)VirtioGpuFormat.R8G8B8A8Unorm).Framebuffer(1).ClearColor(0, 0, 1, 1).ToBytes();
        var control = _gpu.Control;
        var answerAt = new Dictionary<ushort, ulong>();
        for (var i = 0UL; i < 3; i++)
        {
            var submit = new VirtioGpuCmdSubmit { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.Submit3d, CtxId = Context }, StreamSize = (uint)stream.Length };
            var at = control.DataBase + (i * 256);
            _gpu.WriteGuest(at, [.. MemoryMarshal.AsBytes(new ReadOnlySpan<VirtioGpuCmdSubmit>(in submit)), .. stream]);
            var answer = control.DataBase + (512 << 10) + (i * 64);
            Assert.True(control.Driver.TryAdd([new(at, VirtioGpuCmdSubmit.Size + (uint)stream.Length, false), new(answer, 64, true)], false, out var id));
            answerAt[id] = answer;
        }

        control.Driver.PublishAvail();
        for (var answered = 1; answered <= 3; answered++)
        {
            _gpu.Device.ProcessQueue(GpuDevice.ControlQueue, control.Device);
            control.Device.PublishUsed();
            Assert.Equal(QueueError.None, control.Device.Fault);
            Assert.True(control.Driver.TryTakeUsed(out var id, out var written));
            Assert.False(control.Driver.TryTakeUsed(out _, out _), "more than the one command was answered");
            Assert.Equal(24U, written);
            Assert.Equal(MemoryFault.None, control.Memory.Read(answerAt[id], out VirtioGpuCtrlHeader header));
            Assert.Equal(VirtioGpuCtrlType.OkNoData, header.Type);
            Assert.Equal(answered, _turns.Taken);
        }

        Assert.Equal([true, true, false], _turns.Ends);
        Assert.Equal(0, _turns.Withdrawn);

        _gpu.Device.QuiesceQueue(GpuDevice.CursorQueue, control.Device);
        Assert.Equal(0, _turns.Withdrawn);
        _gpu.Device.QuiesceQueue(GpuDevice.ControlQueue, control.Device);
        Assert.Equal(1, _turns.Withdrawn);
        _gpu.Device.Reset();
        Assert.Equal(2, _turns.Withdrawn);
    }

    public void Dispose() => _gpu.Dispose();

    /// <summary>What the device told its turns, in order.</summary>
    private sealed class RecordingTurns : IGpuTurns
    {
        public int Taken { get; private set; }

        public List<bool> Ends { get; } = [];

        public int Withdrawn { get; private set; }

        public void TakeTurn() => Taken++;

        public void EndTurn(bool moreQueued) => Ends.Add(moreQueued);

        public void Withdraw() => Withdrawn++;
    }
}
