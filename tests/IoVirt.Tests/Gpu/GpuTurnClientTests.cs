using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Interop;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// A guest's turns against an arbiter played here over a socket pair. The slice and linger are
/// long (a minute): what ends a turn sooner than they would is the client's choice, not a clock.
/// </summary>
public sealed class GpuTurnClientTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    private readonly UnixSocket _arbiter;
    private readonly UnixSocket _guestEnd;
    private readonly RecordingLogger _log = new();

    public GpuTurnClientTests() => (_arbiter, _guestEnd) = UnixSocket.Pair();

    [Fact]
    public void Submissions_within_a_slice_ride_one_grant_and_an_idle_turn_is_given_back_after_the_linger()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, TimeSpan.FromMilliseconds(20), _log);
        TakeGrantedTurn(client);
        client.EndTurn(moreQueued: false);
        client.TakeTurn();
        client.EndTurn(moreQueued: false);
        client.TakeTurn();
        client.EndTurn(moreQueued: false);

        // Three submissions, one turn: the next message is its end, after the linger.
        Assert.Equal((GpuTurnKind.Done, 3UL), Next());
    }

    [Fact]
    public void A_preempt_while_the_turn_lingers_gives_it_back_at_once()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, Long, _log);
        TakeGrantedTurn(client);
        client.EndTurn(moreQueued: false);
        Tell(GpuTurnKind.Preempt);

        // Within the test's five seconds, not the minute's linger.
        Assert.Equal((GpuTurnKind.Done, 1UL), Next());
    }

    [Fact]
    public void A_preempt_during_a_submission_gives_the_turn_back_as_the_submission_ends()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, Long, _log);
        TakeGrantedTurn(client);
        Tell(GpuTurnKind.Preempt);
        Assert.False(_arbiter.WaitReadable(100), "the turn was given back mid-submission");
        client.EndTurn(moreQueued: false);
        Assert.Equal((GpuTurnKind.Done, 1UL), Next());
    }

    [Fact]
    public void A_preempted_guest_with_its_next_submission_ready_gives_the_turn_back_and_asks_again_at_once()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, Long, _log);
        TakeGrantedTurn(client);
        Tell(GpuTurnKind.Preempt);
        Assert.False(_arbiter.WaitReadable(100), "the turn was given back mid-submission");

        // The next submission comes as the last ends: whichever of Yield (the submission saw the
        // Preempt first) or Done then Request (the linger saw it first), the GPU is handed back.
        client.EndTurn(moreQueued: false);
        var next = Started(client.TakeTurn);
        var first = Next();
        if (first.Kind == GpuTurnKind.Done)
        {
            Assert.Equal(GpuTurnKind.Request, Next().Kind);
        }
        else
        {
            Assert.Equal((GpuTurnKind.Yield, 1UL), first);
        }

        Assert.False(next.Join(100), "the next submission ran without a grant");
        Tell(GpuTurnKind.Grant);
        Assert.True(next.Join(5_000), "the grant did not start the turn");
    }

    [Fact]
    public void A_guest_with_more_queued_whose_next_submission_is_late_keeps_its_place_and_gets_the_turn_for_it()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, TimeSpan.FromMilliseconds(20), _log);
        TakeGrantedTurn(client);

        // Its thread is late past the linger: the turn goes back and is asked for again at once.
        client.EndTurn(moreQueued: true);
        Assert.Equal((GpuTurnKind.Yield, 1UL), Next());

        // The submission comes before the grant: it waits for it and asks nothing more.
        var next = Started(client.TakeTurn);
        Assert.False(next.Join(100), "the next submission ran without a grant");
        Tell(GpuTurnKind.Grant);
        Assert.True(next.Join(5_000), "the grant did not start the turn");
        Assert.False(_arbiter.WaitReadable(100), "the guest asked twice for one turn");
        client.EndTurn(moreQueued: false);
        Assert.Equal((GpuTurnKind.Done, 1UL), Next());
    }

    [Fact]
    public void A_turn_granted_for_a_late_submission_is_asked_for_again_until_the_queue_is_withdrawn()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, TimeSpan.FromMilliseconds(20), _log);
        TakeGrantedTurn(client);
        client.EndTurn(moreQueued: true);
        Assert.Equal((GpuTurnKind.Yield, 1UL), Next());

        // Still late a linger after the grant: given back with its place kept, once more.
        Tell(GpuTurnKind.Grant);
        Assert.Equal((GpuTurnKind.Yield, 0UL), Next());

        // A guest that reset its queue never submits: the next grant goes back for good.
        client.Withdraw();
        Tell(GpuTurnKind.Grant);
        Assert.Equal((GpuTurnKind.Done, 0UL), Next());
        Assert.False(_arbiter.WaitReadable(100), "a withdrawn guest still asks");
    }

    [Fact]
    public void A_preempt_while_more_is_queued_gives_the_turn_back_and_asks_again_in_one_message()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, Long, _log);
        TakeGrantedTurn(client);
        client.EndTurn(moreQueued: true);
        Tell(GpuTurnKind.Preempt);
        Assert.Equal((GpuTurnKind.Yield, 1UL), Next());

        // A Preempt sent before the arbiter saw the Yield is passed over; the grant is taken.
        Tell(GpuTurnKind.Preempt);
        Tell(GpuTurnKind.Grant);
        var next = Started(client.TakeTurn);
        Assert.True(next.Join(5_000), "the grant did not start the turn");
        Assert.False(_arbiter.WaitReadable(100), "the guest asked twice for one turn");
    }

    [Fact]
    public void A_guest_whose_arbiter_is_gone_runs_on_unarbitrated()
    {
        using var client = new GpuTurnClient(_guestEnd, Long, Long, _log);
        _arbiter.Dispose();
        var taken = Started(client.TakeTurn);
        Assert.True(taken.Join(5_000), "a guest without its arbiter hangs");
        client.EndTurn(moreQueued: false);
        client.TakeTurn();
        Assert.True(_log.Contains(LogLevel.Error, "lost the GPU-time arbiter"), "the lost arbiter was not logged");
    }

    public void Dispose() => _arbiter.Dispose();

    private void TakeGrantedTurn(GpuTurnClient client)
    {
        var taken = Started(client.TakeTurn);
        Assert.Equal((GpuTurnKind.Request, 0UL), Next());
        Tell(GpuTurnKind.Grant);
        Assert.True(taken.Join(5_000), "the grant did not start the turn");
    }

    private static Thread Started(Action work)
    {
        var thread = new Thread(() => work()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    private void Tell(GpuTurnKind kind) => TurnWire.Send(_arbiter, kind);

    /// <summary>The next message the client sent.</summary>
    private (GpuTurnKind Kind, ulong Value) Next()
    {
        var message = TurnWire.Next(_arbiter, "the guest sent nothing");
        return (message.Kind, message.Value);
    }
}
