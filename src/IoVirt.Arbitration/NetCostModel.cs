namespace IoVirt.Arbitration;

/// <summary>What a frame costs a NIC or a switch, in nanoseconds: a fixed part per packet plus a part per byte.</summary>
public sealed record NetCostModel(double PerPacket, double PerByte)
{
    public double Cost(int bytes) => PerPacket + (bytes * PerByte);
}
