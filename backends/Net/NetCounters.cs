using System.Text.Json.Serialization;

namespace IoVirt.Backends.Net;

/// <summary>
/// Packet counters of one queue pair, written by the pair's worker only and read by anyone
/// (a reader may see one counter a packet ahead of another). tx is guest to port, rx port to guest.
/// </summary>
public sealed class NetCounters
{
    private long _txFrames;
    private long _txBytes;
    private long _txDropped;
    private long _txInvalid;
    private long _rxFrames;
    private long _rxBytes;
    private long _rxDropped;
    private long _rxFiltered;

    /// <summary>Frames the guest sent that the port took.</summary>
    public long TxFrames => Volatile.Read(ref _txFrames);

    public long TxBytes => Volatile.Read(ref _txBytes);

    /// <summary>Well-formed frames the port could not take (its queue was full).</summary>
    public long TxDropped => Volatile.Read(ref _txDropped);

    /// <summary>Chains the guest sent that were not a valid packet (too short or long, bad header).</summary>
    public long TxInvalid => Volatile.Read(ref _txInvalid);

    /// <summary>Frames delivered to the guest.</summary>
    public long RxFrames => Volatile.Read(ref _rxFrames);

    public long RxBytes => Volatile.Read(ref _rxBytes);

    /// <summary>Frames for the guest lost to receive buffers that could not hold them.</summary>
    public long RxDropped => Volatile.Read(ref _rxDropped);

    /// <summary>Frames the guest's receive filter (MAC, multicast, VLAN) refused.</summary>
    public long RxFiltered => Volatile.Read(ref _rxFiltered);

    internal void Transmitted(int bytes)
    {
        Volatile.Write(ref _txFrames, _txFrames + 1);
        Volatile.Write(ref _txBytes, _txBytes + bytes);
    }

    internal void TransmitDropped() => Volatile.Write(ref _txDropped, _txDropped + 1);

    internal void TransmitInvalid() => Volatile.Write(ref _txInvalid, _txInvalid + 1);

    internal void Received(int bytes)
    {
        Volatile.Write(ref _rxFrames, _rxFrames + 1);
        Volatile.Write(ref _rxBytes, _rxBytes + bytes);
    }

    internal void ReceiveDropped() => Volatile.Write(ref _rxDropped, _rxDropped + 1);

    internal void ReceiveFiltered() => Volatile.Write(ref _rxFiltered, _rxFiltered + 1);

    /// <summary>The sum over <paramref name="pairs"/>, as one snapshot for reports.</summary>
    public static NetTotals Sum(IEnumerable<NetCounters> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var t = default(NetTotals);
        foreach (var c in pairs)
        {
            t = t with
            {
                TxFrames = t.TxFrames + c.TxFrames,
                TxBytes = t.TxBytes + c.TxBytes,
                TxDropped = t.TxDropped + c.TxDropped,
                TxInvalid = t.TxInvalid + c.TxInvalid,
                RxFrames = t.RxFrames + c.RxFrames,
                RxBytes = t.RxBytes + c.RxBytes,
                RxDropped = t.RxDropped + c.RxDropped,
                RxFiltered = t.RxFiltered + c.RxFiltered,
            };
        }

        return t;
    }
}

/// <summary>Counters of a whole device at one moment (see <see cref="NetCounters"/>).</summary>
public readonly record struct NetTotals(
    [property: JsonPropertyName("txFrames")] long TxFrames,
    [property: JsonPropertyName("txBytes")] long TxBytes,
    [property: JsonPropertyName("txDropped")] long TxDropped,
    [property: JsonPropertyName("txInvalid")] long TxInvalid,
    [property: JsonPropertyName("rxFrames")] long RxFrames,
    [property: JsonPropertyName("rxBytes")] long RxBytes,
    [property: JsonPropertyName("rxDropped")] long RxDropped,
    [property: JsonPropertyName("rxFiltered")] long RxFiltered);
