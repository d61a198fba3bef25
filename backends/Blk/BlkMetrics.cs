using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using IoVirt.Abi.Blk;

namespace IoVirt.Backends.Blk;

/// <summary>
/// Block devices' figures through System.Diagnostics.Metrics (meter "IoVirt.Backends.Blk"),
/// tagged with each device's name: requests, data moved and errors (read from the queues'
/// counters when a collector asks, so the data path pays nothing for them), requests in flight
/// per queue, and request latency from pop to completion (a histogram, recorded only while a
/// listener takes it). One instance serves every device of a process that names it in
/// <see cref="BlkDeviceOptions.Metrics"/>.
/// </summary>
public sealed class BlkMetrics : IDisposable
{
    public const string MeterName = "IoVirt.Backends.Blk";

    /// <summary>Latency buckets from 10 µs to 1 s, in seconds: a RAM disk's and a slow disk's both land inside.</summary>
    private static readonly double[] LatencyBuckets =
        [0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

    private readonly ConcurrentDictionary<BlkDevice, string> _devices = new();
    private readonly Histogram<double> _latency;

    public BlkMetrics(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Meter.CreateObservableCounter("iovirt.blk.requests", ObserveRequests, "{request}", "Requests sent to the image, by operation (a request refused before, such as one past the end, counts only as an error)");
        Meter.CreateObservableCounter("iovirt.blk.data", ObserveData, "By", "Bytes the guest asked to read or write");
        Meter.CreateObservableCounter("iovirt.blk.errors", ObserveErrors, "{request}", "Requests completed with an error status (io_error) or with no usable status byte (bad_request)");
        Meter.CreateObservableGauge("iovirt.blk.queue_depth", ObserveDepth, "{request}", "Requests in flight on each queue");
        _latency = Meter.CreateHistogram(
            "iovirt.blk.latency", "s", "Time from taking a request to completing it",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
    }

    /// <summary>The meter the instruments are on.</summary>
    public Meter Meter { get; }

    /// <summary>True while a listener takes request latencies (the queues time their requests only then).</summary>
    internal bool TimesRequests => _latency.Enabled;

    internal void Add(BlkDevice device, string name) => _devices[device] = name;

    internal void Remove(BlkDevice device) => _devices.TryRemove(device, out _);

    /// <summary>A request of <paramref name="type"/> taken at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) completed.</summary>
    internal void Completed(string device, VirtioBlkRequestType type, long started) =>
        _latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new("device", device), new("op", OperationName(type)));

    public void Dispose() => Meter.Dispose();

    private static string OperationName(VirtioBlkRequestType type) => type switch
    {
        VirtioBlkRequestType.In => "read",
        VirtioBlkRequestType.Out => "write",
        VirtioBlkRequestType.Flush => "flush",
        _ => "discard",
    };

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.Reads, name, "op", "read");
            yield return Measure(totals.Writes, name, "op", "write");
            yield return Measure(totals.Flushes, name, "op", "flush");
            yield return Measure(totals.Discards, name, "op", "discard");
        }
    }

    private IEnumerable<Measurement<long>> ObserveData()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.ReadBytes, name, "op", "read");
            yield return Measure(totals.WrittenBytes, name, "op", "write");
        }
    }

    private IEnumerable<Measurement<long>> ObserveErrors()
    {
        foreach (var (device, name) in _devices)
        {
            var totals = device.Totals;
            yield return Measure(totals.ErrorsReported, name, "kind", "io_error");
            yield return Measure(totals.BadRequests, name, "kind", "bad_request");
        }
    }

    private IEnumerable<Measurement<int>> ObserveDepth()
    {
        foreach (var (device, name) in _devices)
        {
            var depths = device.InFlight;
            for (var queue = 0; queue < depths.Count; queue++)
            {
                yield return new Measurement<int>(depths[queue], new("device", name), new("queue", queue));
            }
        }
    }

    private static Measurement<long> Measure(long value, string device, string key, string label) =>
        new(value, new("device", device), new(key, label));
}
