using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>A short in-process run of the message-sequence target: the seeds go deep, and mutations of them find nothing.</summary>
public class VhostUserSequenceFuzzSmokeTests
{
    [Fact]
    public void The_seeds_reach_every_kind_of_step_on_both_devices()
    {
        var seeds = VhostUserSequenceTarget.Seeds().ToArray();
        var blk = VhostUserSequenceTarget.Execute(seeds[0]);
        var net = VhostUserSequenceTarget.Execute(seeds[1]);

        Assert.True(blk.StampedReads > 0 && blk.Reconnects > 0 && blk.Stops > 0 && blk.RegionChanges > 0 && blk.LoggedCompletions > 0, blk.ToString());
        Assert.True(net.FramesEchoed > 0 && net.Reconnects > 0 && net.Stops > 0 && net.RegionChanges > 0 && net.LoggedCompletions > 0 && net.Announcements > 0, net.ToString());
    }

    [Fact]
    public void Mutated_sequences_never_break_the_back_end()
    {
        var random = new Random(20261203);
        var seeds = VhostUserSequenceTarget.Seeds().ToArray();
        for (var i = 0; i < 150; i++)
        {
            var input = (byte[])seeds[i % seeds.Length].Clone();
            for (var f = 1 + random.Next(6); f > 0; f--)
            {
                input[1 + random.Next(input.Length - 1)] = (byte)random.Next(256);
            }

            VhostUserSequenceTarget.Run(input);
        }
    }
}
