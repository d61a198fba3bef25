using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// Any sequence of 2D transfers, good or bad, leaves the resource as a model says: a transfer the
/// device accepts copies row h of its rectangle from backing offset + h * stride, one it refuses
/// copies nothing, and it refuses exactly the rectangles outside the resource and the ranges past
/// the backing.
/// </summary>
public sealed class GpuTransferProperties
{
    private const uint Width = 24;
    private const uint Height = 10;
    private const int Stride = (int)Width * 4;

    [Fact]
    public void Transfers_copy_exactly_what_the_model_says()
    {
        var transfer =
            from x in Gen.Choose(0, 26)
            from y in Gen.Choose(0, 12)
            from w in Gen.Choose(0, 26)
            from h in Gen.Choose(0, 12)
            from offset in Gen.Choose(0, (int)(Width * Height * 4) + 64)
            select (Rect: new VirtioGpuRect((uint)x, (uint)y, (uint)w, (uint)h), Offset: (ulong)offset);
        var transfers = (from count in Gen.Choose(1, 12) from list in Gen.ArrayOf(transfer, count) select list).ToArbitrary();
        var backingBytes = (int)(Width * Height * 4) - 40; // a little short, so some transfers overrun it
        var property = Prop.ForAll(transfers, program =>
        {
            var display = new RecordingDisplay();
            using var gpu = new GpuTestDriver(new GpuDevice(new GpuDeviceOptions(), display));
            var backing = new byte[backingBytes];
            new Random(program.Length).NextBytes(backing);
            gpu.WriteGuest(gpu.Backing, backing);
            Assert.Equal(VirtioGpuCtrlType.OkNoData, gpu.Create(1, Width, Height));
            Assert.Equal(VirtioGpuCtrlType.OkNoData, gpu.Attach(1, (gpu.Backing, (uint)backingBytes)));
            var model = new byte[Width * Height * 4];
            foreach (var (rect, offset) in program)
            {
                var inside = (ulong)rect.X + rect.Width <= Width && (ulong)rect.Y + rect.Height <= Height;
                var empty = rect.Width == 0 || rect.Height == 0;
                var span = empty ? 0 : ((rect.Height - 1) * (ulong)Stride) + (rect.Width * 4UL);
                var fits = empty || offset + span <= (ulong)backingBytes;
                var expected = inside && fits ? VirtioGpuCtrlType.OkNoData : VirtioGpuCtrlType.ErrInvalidParameter;
                Assert.Equal(expected, gpu.Transfer(1, rect, offset));
                if (expected == VirtioGpuCtrlType.OkNoData && !empty)
                {
                    for (var h = 0; h < rect.Height; h++)
                    {
                        backing.AsSpan((int)offset + (h * Stride), (int)rect.Width * 4).CopyTo(model.AsSpan((((int)rect.Y + h) * Stride) + ((int)rect.X * 4)));
                    }
                }
            }

            Assert.Equal(VirtioGpuCtrlType.OkNoData, gpu.SetScanout(0, 1, new VirtioGpuRect(0, 0, Width, Height)));
            Assert.Equal(VirtioGpuCtrlType.OkNoData, gpu.Flush(1, new VirtioGpuRect(0, 0, Width, Height)));
            Assert.Equal(model, display.Frames[0]);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), property);
    }
}
