using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Backends.Gpu;
using IoVirt.Interop;

namespace IoVirt.Tests.Gpu;

/// <summary>GET_DISPLAY_INFO and UPDATE over the vhost-user-gpu socket, with the test as the VMM's end.</summary>
public sealed class VhostUserGpuDisplayTests : IDisposable
{
    private readonly UnixSocket _device;
    private readonly UnixSocket _vmm;
    private readonly VhostUserGpuDisplay _display;
    private Exception? _vmmFailed;

    public VhostUserGpuDisplayTests()
    {
        (_device, _vmm) = UnixSocket.Pair();
        _display = new VhostUserGpuDisplay(_device, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void The_vmm_answers_display_info_and_its_modes_are_taken()
    {
        var vmm = PlayVmm(() =>
        {
            GpuWire.AnswerNegotiation(_vmm);
            var (request, _) = GpuWire.Receive(_vmm);
            Assert.Equal(VhostUserGpuRequest.GetDisplayInfo, request);
            var info = new VirtioGpuRespDisplayInfo { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.OkDisplayInfo } };
            info.Modes[0] = new VirtioGpuDisplayOne { Rect = new VirtioGpuRect(0, 0, 800, 600), Enabled = 1 };
            GpuWire.Reply(_vmm, VhostUserGpuRequest.GetDisplayInfo, MemoryMarshal.AsBytes([info]));
        });

        var modes = new VirtioGpuDisplayOne[2];
        Assert.True(_display.TryGetModes(modes));
        Assert.True(vmm.Join(10_000));
        Assert.Null(_vmmFailed);
        Assert.Equal((800U, 600U, 1U), (modes[0].Rect.Width, modes[0].Rect.Height, modes[0].Enabled));
        Assert.Equal(0U, modes[1].Enabled);
        Assert.False(_display.IsBroken);
    }

    [Fact]
    public void A_vmm_that_never_answers_ends_the_display_after_the_reply_timeout()
    {
        var vmm = PlayVmm(() =>
        {
            GpuWire.AnswerNegotiation(_vmm);
            Assert.Equal(VhostUserGpuRequest.GetDisplayInfo, GpuWire.Receive(_vmm).Request);
        });

        Assert.False(_display.TryGetModes(new VirtioGpuDisplayOne[1]));
        Assert.True(vmm.Join(10_000));
        Assert.Null(_vmmFailed);
        Assert.True(_display.IsBroken);

        // Nothing more is asked of it.
        Assert.False(_display.TryGetModes(new VirtioGpuDisplayOne[1]));
        Assert.False(_vmm.WaitReadable(100));
    }

    [Theory]
    [InlineData(VhostUserGpuRequest.GetEdid, VirtioGpuRespDisplayInfo.Size)]
    [InlineData(VhostUserGpuRequest.GetDisplayInfo, 16)]
    public void A_reply_to_something_else_or_of_another_size_ends_the_display(VhostUserGpuRequest answered, int size)
    {
        var vmm = PlayVmm(() =>
        {
            GpuWire.AnswerNegotiation(_vmm);
            Assert.Equal(VhostUserGpuRequest.GetDisplayInfo, GpuWire.Receive(_vmm).Request);
            GpuWire.Reply(_vmm, answered, new byte[size]);
        });

        Assert.False(_display.TryGetModes(new VirtioGpuDisplayOne[1]));
        Assert.True(vmm.Join(10_000));
        Assert.Null(_vmmFailed);
        Assert.True(_display.IsBroken);
    }

    /// <summary>
    /// B8G8R8X8 and B8G8R8A8 are x8r8g8b8 already: whole rows go out as the resource holds them
    /// (the fourth byte too, which the display ignores); a part of each row, or another format, is
    /// converted, with the fourth byte 0xff.
    /// </summary>
    [Theory]
    [InlineData(VirtioGpuFormat.B8G8R8X8Unorm, 0U, 8U, false)]
    [InlineData(VirtioGpuFormat.B8G8R8A8Unorm, 0U, 8U, false)]
    [InlineData(VirtioGpuFormat.B8G8R8X8Unorm, 2U, 5U, true)]
    [InlineData(VirtioGpuFormat.R8G8B8A8Unorm, 0U, 8U, true)]
    public void An_update_carries_the_damaged_pixels_as_x8r8g8b8(VirtioGpuFormat format, uint x, uint width, bool converted)
    {
        const int stride = 8 * 4;
        var pixels = Enumerable.Range(0, stride * 6).Select(i => (byte)i).ToArray();
        var damage = new VirtioGpuRect(x, 1, width, 4);
        byte[]? shown = null;
        var vmm = PlayVmm(() =>
        {
            GpuWire.AnswerNegotiation(_vmm);
            var (request, payload) = GpuWire.Receive(_vmm);
            Assert.Equal(VhostUserGpuRequest.Update, request);
            var update = MemoryMarshal.Read<VhostUserGpuUpdate>(payload);
            Assert.Equal((x, 1U, width, 4U), (update.X, update.Y, update.Width, update.Height));
            shown = payload[VhostUserGpuUpdate.Size..];
        });

        _display.Flush(0, new GpuFrame(format, pixels, stride, 8, 6), damage);
        Assert.True(vmm.Join(10_000));
        Assert.Null(_vmmFailed);
        var expected = new byte[width * 4 * 4];
        for (var row = 0; row < 4; row++)
        {
            var source = pixels.AsSpan(((row + 1) * stride) + ((int)x * 4), (int)width * 4);
            var destination = expected.AsSpan(row * (int)width * 4, (int)width * 4);
            if (converted)
            {
                VhostUserGpuDisplay.ToX8R8G8B8(format, source, destination);
            }
            else
            {
                source.CopyTo(destination);
            }
        }

        Assert.Equal(expected, shown);
        Assert.Equal(converted, expected.Where((_, i) => i % 4 == 3).All(b => b == 0xff));
    }

    /// <summary>Runs <paramref name="script"/>, the VMM's end, on a thread of its own; a failed assertion there lands in <see cref="_vmmFailed"/>.</summary>
    private Thread PlayVmm(Action script)
    {
        var thread = new Thread(() => _vmmFailed = Record.Exception(script));
        thread.Start();
        return thread;
    }

    public void Dispose()
    {
        _display.Dispose();
        _vmm.Dispose();
    }
}
