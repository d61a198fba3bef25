using IoVirt.Backends.Net;
using IoVirt.Testing;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>Network devices' and a switch's figures reach a System.Diagnostics.Metrics listener, equal to their counters, by device and port.</summary>
public sealed class NetMetricsTests
{
    private static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x0b];
    private static readonly byte[] MacC = [0x02, 0, 0, 0, 0, 0x0c];

    [Fact]
    public void Frames_bytes_drops_and_spoofs_are_reported_by_device_and_port()
    {
        using var metrics = new NetMetrics();
        using var recorder = new MetricsRecorder(metrics.Meter);
        using var bed = new SwitchBed(metrics: metrics);
        var (_, a) = bed.Guest("a", MacA);
        var (_, b) = bed.Guest("b", MacB);
        a.Send(Header(), Frame(MacB, MacA, 80));
        a.Send(Header(), Frame(MacB, MacA, 300));
        a.Send(Header(), Frame(MacB, MacC, 80)); // posing as C
        Assert.NotNull(b.Receive(out _));
        Assert.NotNull(b.Receive(out _));
        Assert.True(a.WaitTransmitted());

        recorder.Observe();
        var deviceA = bed.Devices["a"].Totals;
        var deviceB = bed.Devices["b"].Totals;
        Assert.Equal(2, recorder.Value("iovirt.net.frames", ("device", "b"), ("direction", "rx")));
        Assert.Equal(deviceB.RxBytes, recorder.Value("iovirt.net.data", ("device", "b"), ("direction", "rx")));
        Assert.True(deviceB.RxBytes >= 380, $"{deviceB.RxBytes} bytes received");
        Assert.Equal(deviceA.TxFrames, recorder.Value("iovirt.net.frames", ("device", "a"), ("direction", "tx")));
        Assert.Equal(deviceA.TxBytes, recorder.Value("iovirt.net.data", ("device", "a"), ("direction", "tx")));
        Assert.Equal(deviceA.TxDropped, recorder.Value("iovirt.net.drops", ("device", "a"), ("reason", "port_full")));
        Assert.Equal(0, recorder.Value("iovirt.net.drops", ("device", "b"), ("reason", "no_buffer")));
        Assert.Equal(1, recorder.Value("iovirt.switch.spoofs", ("port", "a")));
        Assert.Equal(0, recorder.Value("iovirt.switch.spoofs", ("port", "b")));
    }
}
