using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>A short in-process run of the vhost-user message target: seeds, mutations of them and random streams.</summary>
public class VhostUserFuzzSmokeTests
{
    [Fact]
    public void Seeded_mutated_and_random_message_streams_never_escape_the_session()
    {
        var random = new Random(20261125);
        var seeds = VhostUserMessageTarget.Seeds().ToArray();
        foreach (var seed in seeds)
        {
            VhostUserMessageTarget.Run(seed);
        }

        for (var i = 0; i < 1500; i++)
        {
            var input = (byte[])seeds[i % seeds.Length].Clone();
            var flips = 1 + random.Next(8);
            for (var f = 0; f < flips; f++)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            VhostUserMessageTarget.Run(input);
        }

        for (var i = 0; i < 500; i++)
        {
            var input = new byte[random.Next(13, 600)];
            random.NextBytes(input);
            VhostUserMessageTarget.Run(input);
        }
    }
}
