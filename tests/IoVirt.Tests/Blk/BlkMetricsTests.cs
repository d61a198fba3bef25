using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Testing;

namespace IoVirt.Tests.Blk;

/// <summary>A block device's figures reach a System.Diagnostics.Metrics listener, tagged with the device's name, as its queues count them.</summary>
public sealed class BlkMetricsTests
{
    [Theory]
    [InlineData(BlockEngineKind.Uring)]
    [InlineData(BlockEngineKind.Mapped)]
    public void Requests_bytes_errors_depth_and_latency_are_reported_by_device_and_operation(BlockEngineKind engine)
    {
        using var metrics = new BlkMetrics();
        using var recorder = new MetricsRecorder(metrics.Meter);
        using (var bed = new BlkBed(engine, metrics: metrics))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Out, (ulong)i * 8, 4096));
            }

            Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.In, 0, 8192));
            Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.In, 64, 8192));
            Assert.Equal(VirtioBlkStatus.Ok, bed.Client.Execute(VirtioBlkRequestType.Flush, 0, 0));
            Assert.Equal(VirtioBlkStatus.IoError, bed.Client.Execute(VirtioBlkRequestType.In, BlkBed.DiskBytes / 512, 4096));

            recorder.Observe();
            Assert.Equal(3, recorder.Value("iovirt.blk.requests", ("device", "bed-serial"), ("op", "write")));
            Assert.Equal(2, recorder.Value("iovirt.blk.requests", ("device", "bed-serial"), ("op", "read")));
            Assert.Equal(1, recorder.Value("iovirt.blk.requests", ("device", "bed-serial"), ("op", "flush")));
            Assert.Equal(0, recorder.Value("iovirt.blk.requests", ("device", "bed-serial"), ("op", "discard")));
            Assert.Equal(3 * 4096, recorder.Value("iovirt.blk.data", ("device", "bed-serial"), ("op", "write")));
            Assert.Equal(2 * 8192, recorder.Value("iovirt.blk.data", ("device", "bed-serial"), ("op", "read")));
            Assert.Equal(1, recorder.Value("iovirt.blk.errors", ("device", "bed-serial"), ("kind", "io_error")));
            Assert.Equal(0, recorder.Value("iovirt.blk.errors", ("device", "bed-serial"), ("kind", "bad_request")));
            Assert.Equal(0, recorder.Value("iovirt.blk.queue_depth", ("device", "bed-serial"), ("queue", 0)));

            // Each request that reached the engine was timed (the one past the end never did).
            Assert.Equal(3, recorder.Count("iovirt.blk.latency", ("device", "bed-serial"), ("op", "write")));
            Assert.Equal(2, recorder.Count("iovirt.blk.latency", ("device", "bed-serial"), ("op", "read")));
            Assert.Equal(1, recorder.Count("iovirt.blk.latency", ("device", "bed-serial"), ("op", "flush")));
            Assert.All(recorder.Samples("iovirt.blk.latency"), seconds => Assert.InRange(seconds, 1e-9, 10));
        }

        // A device disposed is no longer reported.
        recorder.Reset();
        recorder.Observe();
        Assert.Empty(recorder.Samples("iovirt.blk.requests"));
    }
}
