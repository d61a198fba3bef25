using System.Diagnostics;
using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Backends.Gpu.Load;

/// <summary>
/// Frames through any vhost-user GPU back end, as a guest's 2D driver and a VMM's display make
/// them: one B8G8R8X8 resource on scanout 0, then for each frame a full TRANSFER_TO_HOST_2D and
/// RESOURCE_FLUSH, and the frame counts once the display's UPDATE shows it (each frame stamps its
/// number into the top-left pixel). Commands wait on the call eventfd, as an interrupt-driven
/// guest does. One thread drives; the display end reads on its own.
/// </summary>
public static class GpuFrameBench
{
    private const ulong RingAt = 0;
    private const ulong TransferAt = 0x10000;
    private const ulong FlushAt = 0x10100;
    private const ulong RequestAt = 0x10200;
    private const ulong AnswerAt = 0x18000;
    private const ulong BackingAt = 0x100000;
    private const uint ResourceId = 1;
    private const int QueueSize = 8;

    public static GpuFrameResult Run(GpuFrameOptions options)
    {
        var frameBytes = (ulong)options.Width * options.Height * 4;
        var size = (BackingAt + frameBytes + (2UL << 20) - 1) & ~((2UL << 20) - 1);
        using var frontend = VhostUserFrontend.Connect(options.SocketPath);
        var (backEndSide, displaySide) = UnixSocket.Pair();
        using var display = new GpuDisplayEnd(displaySide, options.Width, options.Height);
        using (backEndSide)
        {
            frontend.SetGpuSocket(backEndSide);
        }

        frontend.SetOwner();
        frontend.SetProtocolFeatures(frontend.GetProtocolFeatures() & (VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config));
        var features = frontend.GetFeatures() & (VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.RingEventIdx) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures));
        if ((features & VirtioFeature.Bit(VirtioFeature.Version1)) == 0)
        {
            throw new InvalidOperationException("the back end does not offer VIRTIO_F_VERSION_1");
        }

        frontend.SetFeatures(features);
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(0, size, "iovirt-gpu-bench"));
        frontend.SetMemTable(memory);
        using var queue = FrontendQueue.Start(frontend, memory, 0, QueueSize, packed: false, eventIdx: (features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0, RingAt);
        frontend.SetVringEnable(0, true);

        var driver = new Driver(memory, queue, options.TimeoutMs);
        var whole = new VirtioGpuRect(0, 0, options.Width, options.Height);
        driver.Execute(new VirtioGpuResourceCreate2d { Header = Header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = ResourceId, Format = VirtioGpuFormat.B8G8R8X8Unorm, Width = options.Width, Height = options.Height });
        driver.Execute(new VirtioGpuResourceAttachBacking { Header = Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = ResourceId, NrEntries = 1 }, new VirtioGpuMemEntry { Addr = BackingAt, Length = (uint)frameBytes });
        driver.Execute(new VirtioGpuSetScanout { Header = Header(VirtioGpuCtrlType.SetScanout), ScanoutId = 0, ResourceId = ResourceId, Rect = whole });
        Write(memory, TransferAt, new VirtioGpuTransferToHost2d { Header = Header(VirtioGpuCtrlType.TransferToHost2d), ResourceId = ResourceId, Rect = whole });
        Write(memory, FlushAt, new VirtioGpuResourceFlush { Header = Header(VirtioGpuCtrlType.ResourceFlush), ResourceId = ResourceId, Rect = whole });

        var transfers = new List<double>();
        var flushes = new List<double>();
        var frames = new List<double>();
        var rampEnd = Stopwatch.GetTimestamp() + (long)(options.RampTime.TotalSeconds * Stopwatch.Frequency);
        var end = rampEnd + (long)(options.Runtime.TotalSeconds * Stopwatch.Frequency);
        var measuredFrom = 0L;
        var bytesBefore = 0L;
        var stamp = 0U;
        while (true)
        {
            var start = Stopwatch.GetTimestamp();
            if (start >= end)
            {
                break;
            }

            if (start >= rampEnd && measuredFrom == 0)
            {
                measuredFrom = start;
                bytesBefore = display.UpdateBytes;
            }

            stamp = (stamp + 1) & 0xffffff;
            Write(memory, BackingAt, stamp | 0xff000000); // blue, green, red: the stamp; X opaque
            driver.Execute(TransferAt, VirtioGpuTransferToHost2d.Size);
            var transferred = Stopwatch.GetTimestamp();
            driver.Execute(FlushAt, VirtioGpuResourceFlush.Size);
            var flushed = Stopwatch.GetTimestamp();
            if (!display.WaitForPixel(stamp, options.TimeoutMs))
            {
                throw new TimeoutException($"frame {stamp} did not reach the display in {options.TimeoutMs} ms");
            }

            if (measuredFrom != 0)
            {
                var shown = Stopwatch.GetTimestamp();
                transfers.Add(Microseconds(transferred - start));
                flushes.Add(Microseconds(flushed - transferred));
                frames.Add(Microseconds(shown - start));
            }
        }

        var seconds = (double)(Stopwatch.GetTimestamp() - measuredFrom) / Stopwatch.Frequency;
        return new GpuFrameResult(frames.Count, seconds, Sorted(transfers), Sorted(flushes), Sorted(frames), display.UpdateBytes - bytesBefore);
    }

    private static VirtioGpuCtrlHeader Header(VirtioGpuCtrlType type) => new() { Type = type };

    private static double Microseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    private static double[] Sorted(List<double> samples)
    {
        var array = samples.ToArray();
        Array.Sort(array);
        return array;
    }

    private static void Write<T>(GuestMemory memory, ulong address, T value)
        where T : unmanaged
    {
        if (memory.Write(address, in value) != MemoryFault.None)
        {
            throw new InvalidOperationException($"the bench's own memory refused a write at {address:x}");
        }
    }

    /// <summary>Runs commands one at a time on the control queue and checks each is answered OK_NODATA.</summary>
    private sealed class Driver(GuestMemory memory, FrontendQueue queue, int timeoutMs)
    {
        public void Execute<T>(T command)
            where T : unmanaged
        {
            Write(memory, RequestAt, command);
            Execute(RequestAt, (uint)Marshal.SizeOf<T>());
        }

        public void Execute<T>(T command, VirtioGpuMemEntry entry)
            where T : unmanaged
        {
            var length = (uint)Marshal.SizeOf<T>();
            Write(memory, RequestAt, command);
            Write(memory, RequestAt + length, entry);
            Execute(RequestAt, length + VirtioGpuMemEntry.Size);
        }

        /// <summary>Sends the request already at <paramref name="at"/>.</summary>
        public void Execute(ulong at, uint length)
        {
            Span<DriverBuffer> chain = [new DriverBuffer(at, length, false), new DriverBuffer(AnswerAt, VirtioGpuCtrlHeader.Size, true)];
            if (!queue.Driver.TryAdd(chain, false, out _))
            {
                throw new InvalidOperationException("the control queue is full");
            }

            queue.Submit();
            if (!queue.TryWaitUsed(out _, out _, timeoutMs))
            {
                throw new TimeoutException($"a command was not answered in {timeoutMs} ms");
            }

            if (memory.Read(AnswerAt, out VirtioGpuCtrlHeader answer) != MemoryFault.None || answer.Type != VirtioGpuCtrlType.OkNoData)
            {
                _ = memory.Read(at, out VirtioGpuCtrlHeader request);
                throw new InvalidOperationException($"{request.Type} was answered {answer.Type}");
            }
        }
    }
}
