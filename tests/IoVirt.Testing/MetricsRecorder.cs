using System.Diagnostics.Metrics;

namespace IoVirt.Testing;

/// <summary>
/// Records what one <see cref="Meter"/>'s instruments measure (and nothing of other meters, so tests
/// running beside each other do not mix): each measurement with its instrument and tags.
/// Observable instruments report when <see cref="Observe"/> asks them.
/// </summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];

    public MetricsRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    /// <summary>Has every observable instrument report its values now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    /// <summary>Forgets everything recorded so far.</summary>
    public void Reset()
    {
        lock (_measurements)
        {
            _measurements.Clear();
        }
    }

    /// <summary>Every value <paramref name="instrument"/> measured.</summary>
    public IReadOnlyList<double> Samples(string instrument) => [.. Matching(instrument, _ => true).Select(m => m.Value)];

    /// <summary>The last value <paramref name="instrument"/> reported with all of <paramref name="tags"/> (an observable's current value); NaN if none.</summary>
    public double Value(string instrument, params (string Key, object Value)[] tags) =>
        Matching(instrument, recorded => tags.All(tag => Has(recorded, tag.Key, tag.Value))).Select(m => m.Value).DefaultIfEmpty(double.NaN).Last();

    /// <summary>How many measurements <paramref name="instrument"/> made with all of <paramref name="tags"/>.</summary>
    public int Count(string instrument, params (string Key, object Value)[] tags) =>
        Matching(instrument, recorded => tags.All(tag => Has(recorded, tag.Key, tag.Value))).Count;

    public void Dispose() => _listener.Dispose();

    private List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string instrument, Func<KeyValuePair<string, object?>[], bool> tags)
    {
        lock (_measurements)
        {
            return [.. _measurements.Where(m => m.Instrument == instrument && tags(m.Tags))];
        }
    }

    private static bool Has(KeyValuePair<string, object?>[] tags, string key, object value) =>
        tags.Any(tag => tag.Key == key && Equals(tag.Value, value));

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, tags.ToArray()));
        }
    }
}
