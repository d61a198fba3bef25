using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The blk-request targets in-process: the chain seeds, each with random bytes appended over the
/// data area (where request headers, ranges and status bytes live), and random mutations of
/// them, must never make the parser or the device throw.
/// </summary>
public class BlkFuzzSmokeTests
{
    private const int Inputs = 3000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_requests_over_mutated_rings_never_throw(bool packed)
    {
        var seeds = SeedGenerator.Generate(packed).Select(s => s.Value).ToArray();
        var random = new Random(packed ? 0xb1c_0002 : 0xb1c_0001);
        for (var i = 0; i < Inputs; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var input = new byte[seed.Length + random.Next(0, 8192)];
            seed.CopyTo(input, 0);
            random.NextBytes(input.AsSpan(seed.Length));
            for (var flips = random.Next(0, 8); flips > 0; flips--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            var exception = Record.Exception(() => BlkRequestFuzzer.Execute(input, packed));
            Assert.True(exception is null, $"input {i} ({Convert.ToHexString(input.AsSpan(0, Math.Min(64, input.Length)))}...): {exception}");
        }
    }
}
