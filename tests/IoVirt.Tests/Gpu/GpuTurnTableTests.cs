using IoVirt.Arbitration;
using IoVirt.Backends.Gpu.Sharing;

namespace IoVirt.Tests.Gpu;

/// <summary>The GPU-time table's choices in the two cases a light guest meets beside a flooding one.</summary>
public class GpuTurnTableTests
{
    private const int Flooder = 0;
    private const int Light = 1;
    private const long Millisecond = 1_000_000;
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(4);

    [Fact]
    public void A_guest_that_made_way_waits_for_the_turn_it_made_way_for_to_end()
    {
        var table = Table(TimeSpan.Zero);
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Request, 0));
        Assert.Equal(Flooder, table.GrantNext(0, out _));

        // The light guest asks; the flooder, asked to, makes way and at once asks again.
        Assert.Equal(GpuTurnVerdict.PreemptHolder, table.Receive(Light, GpuTurnKind.Request, Millisecond));
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Done, Millisecond));
        Assert.Equal(Light, table.GrantNext(Millisecond, out _));
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Request, Millisecond));

        // Once that turn is over, a request is a return from idle again and preempts.
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Light, GpuTurnKind.Done, 2 * Millisecond));
        Assert.Equal(Flooder, table.GrantNext(2 * Millisecond, out _));
        Assert.Equal(GpuTurnVerdict.PreemptHolder, table.Receive(Light, GpuTurnKind.Request, 3 * Millisecond));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(16, 3)]
    public void A_light_guest_back_from_idle_draws_up_to_its_credit_before_the_flooders_next_slice(int creditMs, int slicesInARow)
    {
        var table = Table(TimeSpan.FromMilliseconds(creditMs));
        long now = 0;

        // The flooder has had the GPU alone, slice after slice, for a second.
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Request, now));
        Assert.Equal(Flooder, table.GrantNext(now, out _));
        while (now < 1_000 * Millisecond)
        {
            now += (long)Slice.TotalNanoseconds;
            Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Yield, now));
            Assert.Equal(Flooder, table.GrantNext(now, out _));
        }

        // The light guest's frame takes three slices: it asks, the flooder yields after its
        // submission, and each slice of the frame ends in a Yield.
        now += Millisecond;
        Assert.Equal(GpuTurnVerdict.PreemptHolder, table.Receive(Light, GpuTurnKind.Request, now));
        Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Flooder, GpuTurnKind.Yield, now));
        var run = 0;
        while (run < 3 && table.GrantNext(now, out _) == Light)
        {
            run++;
            now += (long)Slice.TotalNanoseconds;
            Assert.Equal(GpuTurnVerdict.Noted, table.Receive(Light, GpuTurnKind.Yield, now));
        }

        Assert.Equal(slicesInARow, run);
    }

    private static GpuTurnTable Table(TimeSpan idleCredit) =>
        new([("flooder", new TenantSpec(0, 1, 0)), ("light", new TenantSpec(0, 1, 0))], idleCredit: idleCredit);
}
