namespace IoVirt.Backends.Net.Ports;

/// <summary>Takes every frame and keeps none (the device counts them); sends nothing to the guest.</summary>
public sealed class SinkPort : INetPort
{
    public string Description => "sink";

    /// <summary>Takes partial checksums and segments as they are: nothing is looked at.</summary>
    public NetOffloads TransmitOffloads => NetOffloads.Csum | NetOffloads.Tso4 | NetOffloads.Tso6 | NetOffloads.Ecn;

    public NetOffloads ReceiveOffloads => NetOffloads.None;

    public void AcceptOffloads(NetOffloads offloads)
    {
    }

    public bool Transmit(int pair, ReadOnlySpan<byte> packet) => true;

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination) => 0;

    public int ReceiveEventSource(int pair) => -1;

    /// <summary>Nothing is held for the guest here.</summary>
    public void Reset()
    {
    }

    public void Dispose()
    {
    }
}
