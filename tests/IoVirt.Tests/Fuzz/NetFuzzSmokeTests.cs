using IoVirt.Abi.Net;
using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The net targets in-process: seeds with random bytes and random mutations must never throw
/// (a broken invariant throws too), and the seeds must reach the accepting paths.
/// </summary>
public class NetFuzzSmokeTests
{
    private const int Inputs = 3000;

    [Fact]
    public void Random_transmit_headers_never_break_the_checks_invariants()
    {
        var random = new Random(0x4e7_0001);
        var accepted = 0;
        for (var i = 0; i < Inputs; i++)
        {
            var input = new byte[3 + random.Next(0, 300)];
            random.NextBytes(input);
            // Bias towards the interesting headers: few flags, small checksum offsets.
            if (input.Length > 3 + VirtioNetHdr.Size && i % 2 == 0)
            {
                input[3] &= 1;
                input[4] = (byte)(random.Next(3) switch { 0 => 0, 1 => 1, _ => 4 });
                input[3 + VirtioNetHdr.CsumStartOffset + 1] = 0;
                input[3 + VirtioNetHdr.CsumOffsetOffset + 1] = 0;
            }

            var exception = Record.Exception(() => accepted += NetTxHeaderTarget.Run(input) ? 1 : 0);
            Assert.True(exception is null, $"input {Convert.ToHexString(input)}: {exception}");
        }

        Assert.True(accepted > Inputs / 20, $"only {accepted} of {Inputs} inputs passed the check");
    }

    [Fact]
    public void Random_control_commands_never_throw()
    {
        var dir = Directory.CreateTempSubdirectory("iovirt-net-ctrl-").FullName;
        try
        {
            var seeds = Enumerable.Range(0, NetControlTarget.WriteSeeds(dir)).Select(i => File.ReadAllBytes(Path.Combine(dir, $"seed-{i}"))).ToArray();
            Assert.All(seeds, seed => Assert.True(NetControlTarget.Run(seed) > 0));
            var random = new Random(0x4e7_0002);
            for (var i = 0; i < Inputs; i++)
            {
                var input = seeds[random.Next(seeds.Length)].Concat(new byte[random.Next(0, 64)]).ToArray();
                random.NextBytes(input.AsSpan(input.Length - (input.Length % 7)));
                for (var flips = random.Next(0, 6); flips > 0; flips--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }

                var exception = Record.Exception(() => NetControlTarget.Run(input));
                Assert.True(exception is null, $"input {Convert.ToHexString(input)}: {exception}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_network_device_over_mutated_rings_never_throws(bool packed)
    {
        var seeds = SeedGenerator.Generate(packed).Select(s => s.Value).ToArray();
        var random = new Random(packed ? 0x4e7_0004 : 0x4e7_0003);
        for (var i = 0; i < Inputs; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var input = new byte[seed.Length + random.Next(0, 4096)];
            seed.CopyTo(input, 0);
            random.NextBytes(input.AsSpan(seed.Length));
            for (var flips = random.Next(0, 8); flips > 0; flips--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            var exception = Record.Exception(() => NetDeviceFuzzer.Execute(input, packed));
            Assert.True(exception is null, $"input {i}: {exception}");
        }
    }
}
