using System.Runtime.InteropServices;
using IoVirt.Arbitration;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Interop;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.Gpu;

/// <summary>The GPU-time arbiter against guests played here over socket pairs: one turn at a time, and a guest that breaks the protocol or goes costs only itself.</summary>
public sealed class GpuTimeArbiterTests : IDisposable
{
    private readonly List<UnixSocket> _guests = [];
    private readonly RecordingLogger _log = new();
    private readonly GpuTimeArbiter _arbiter;

    public GpuTimeArbiterTests()
    {
        var ends = new List<GpuGuest>();
        foreach (var name in new[] { "a", "b", "c" })
        {
            var (arbiterEnd, guestEnd) = UnixSocket.Pair();
            _guests.Add(guestEnd);
            ends.Add(new GpuGuest(name, new TenantSpec(0, 1, 0), arbiterEnd));
        }

        _arbiter = new GpuTimeArbiter(ends, TimeProvider.System, logger: _log);
    }

    [Fact]
    public void The_GPU_is_one_guests_at_a_time_and_passes_on_at_Done()
    {
        Send(0, GpuTurnKind.Request, 100);
        Assert.True(Granted(0));
        Send(1, GpuTurnKind.Request, 200);
        Assert.Equal(GpuTurnKind.Preempt, Next(0)); // b was idle: a is asked to give the GPU back soon
        Assert.False(Granted(1, 200), "b got a turn while a held the GPU");
        Send(0, GpuTurnKind.Done, 1);
        Assert.True(Granted(1));
        Send(1, GpuTurnKind.Yield, 300);
        Assert.True(Granted(1), "b, alone in wanting the GPU, did not get its next turn");
        Send(1, GpuTurnKind.Done, 2);

        var report = WaitForTurns("b", 2);
        Assert.Equal((1L, 2L), (report["a"].Requests, report["b"].Requests));
        Assert.True(report["b"].Cost > 0);
    }

    [Theory]
    [InlineData(GpuTurnKind.Done)]
    [InlineData(GpuTurnKind.Grant)]
    [InlineData(GpuTurnKind.Preempt)]
    [InlineData((GpuTurnKind)99)]
    public void A_guest_out_of_turn_is_dropped_and_the_others_go_on(GpuTurnKind wrong)
    {
        Send(0, wrong, 0);
        Assert.Equal(0, _guests[0].Receive(new byte[GpuTurnMessage.Size], default, out _)); // closed on it
        Send(1, GpuTurnKind.Request, 1);
        Assert.True(Granted(1));
        Assert.Equal(2, _arbiter.Connected);
        Assert.True(_log.Contains(LogLevel.Warning, "guest a dropped"));
    }

    [Fact]
    public void A_guest_that_goes_while_it_holds_the_GPU_hands_it_on()
    {
        Send(0, GpuTurnKind.Request, 1);
        Assert.True(Granted(0));
        Send(1, GpuTurnKind.Request, 1);
        _guests[0].Dispose();
        Assert.True(Granted(1), "b never got the GPU a's process left held");
        Assert.Equal(1, WaitForTurns("a", 1)["a"].Requests);
    }

    [Fact]
    public void A_message_split_across_reads_counts_once_whole()
    {
        var message = new GpuTurnMessage(GpuTurnKind.Request, 7);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<GpuTurnMessage>(in message)).ToArray();
        _guests[2].Send(bytes.AsSpan(0, 5));
        Thread.Sleep(50);
        Assert.False(Granted(2, 50));
        _guests[2].Send(bytes.AsSpan(5));
        Assert.True(Granted(2));
    }

    public void Dispose()
    {
        _arbiter.Dispose();
        _guests.ForEach(guest => guest.Dispose());
    }

    private void Send(int guest, GpuTurnKind kind, ulong value) => TurnWire.Send(_guests[guest], kind, value);

    private bool Granted(int guest, int timeoutMs = 5_000)
    {
        if (!_guests[guest].WaitReadable(timeoutMs))
        {
            return false;
        }

        Assert.Equal(GpuTurnKind.Grant, Next(guest));
        return true;
    }

    /// <summary>The next message the arbiter sent <paramref name="guest"/>.</summary>
    private GpuTurnKind Next(int guest) => TurnWire.Next(_guests[guest], "the arbiter sent nothing").Kind;

    /// <summary>The report once <paramref name="guest"/> has <paramref name="turns"/> turns (the arbiter's thread accounts a Done a moment after it is sent).</summary>
    private IReadOnlyDictionary<string, TenantTotals> WaitForTurns(string guest, long turns)
    {
        var deadline = Environment.TickCount64 + 5_000;
        while (true)
        {
            var report = _arbiter.Report();
            if (report[guest].Requests >= turns || Environment.TickCount64 > deadline)
            {
                return report;
            }

            Thread.Sleep(5);
        }
    }
}
