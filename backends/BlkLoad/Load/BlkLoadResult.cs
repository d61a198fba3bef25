using System.Text.Json;

namespace IoVirt.Backends.Blk.Load;

/// <summary>What a load run measured (over the measured time only, ramp excluded).</summary>
public sealed record BlkLoadResult(BlkLoadOptions Options, long Ios, long Errors, double Seconds, LatencyHistogram Latency)
{
    /// <summary>With <see cref="BlkLoadOptions.Verify"/>: what was checked, ramp included, one verifier per queue.</summary>
    public IReadOnlyList<BlockVerifier> Verifiers { get; init; } = [];

    /// <summary>Bytes read back and checked, over all queues.</summary>
    public long VerifiedBytes => Verifiers.Sum(verifier => verifier.VerifiedBytes);

    /// <summary>Sectors that held something else than the last write to them, over all queues.</summary>
    public long Mismatches => Verifiers.Sum(verifier => verifier.Mismatches);

    public double Iops => Ios / Seconds;

    public double BytesPerSecond => Iops * Options.BlockSize;

    public double LatencyMicroseconds(double percent) => Latency.Percentile(percent) / 1000.0;

    /// <summary>One JSON object: the job, IOPS, bandwidth and latency percentiles in microseconds.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("rw", Options.Pattern.ToString().ToLowerInvariant());
            json.WriteNumber("bs", Options.BlockSize);
            json.WriteNumber("iodepth", Options.IoDepth);
            json.WriteNumber("queues", Options.Queues);
            json.WriteNumber("runtime_s", Math.Round(Seconds, 3));
            json.WriteNumber("ios", Ios);
            json.WriteNumber("errors", Errors);
            json.WriteNumber("iops", Math.Round(Iops, 1));
            json.WriteNumber("bw_bytes_per_s", Math.Round(BytesPerSecond));
            json.WriteStartObject("lat_us");
            json.WriteNumber("mean", Math.Round(Latency.Mean / 1000, 2));
            foreach (var p in new[] { 50.0, 90, 99, 99.9 })
            {
                json.WriteNumber($"p{p.ToString(System.Globalization.CultureInfo.InvariantCulture)}", Math.Round(LatencyMicroseconds(p), 2));
            }

            json.WriteNumber("max", Math.Round(Latency.Max / 1000.0, 2));
            json.WriteEndObject();
            if (Verifiers.Count > 0)
            {
                json.WriteNumber("verified_bytes", VerifiedBytes);
                json.WriteNumber("verify_errors", Mismatches);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
