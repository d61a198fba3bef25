using System.Diagnostics;
using IoVirt.Fuzz;
using IoVirt.Virtqueue;
using Xunit.Abstractions;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// Runs the fuzz targets in-process: the generated seeds must be valid queue states, and random
/// and mutated inputs (a fixed Random seed, so failures reproduce) must never throw.
/// </summary>
public class FuzzSmokeTests(ITestOutputHelper output)
{
    private const int InputsPerTarget = 10_000;

    public static TheoryData<bool> Formats => new() { false, true };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_seed_is_a_queue_with_chains_to_pop_and_no_fault(bool packed)
    {
        var seeds = SeedGenerator.Generate(packed);
        Assert.NotEmpty(seeds);
        foreach (var (name, data) in seeds)
        {
            var outcome = ChainFuzzer.Execute(data, packed);
            Assert.True(outcome.CreateError == QueueError.None, $"{name}: rejected with {outcome.CreateError}");
            Assert.True(outcome.Fault == QueueError.None, $"{name}: queue broke with {outcome.Fault}");
            Assert.True(outcome.Chains > 0, $"{name}: no chain popped");
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Random_and_mutated_inputs_never_throw(bool packed)
    {
        var seeds = SeedGenerator.Generate(packed).Select(s => s.Value).ToArray();
        var random = new Random(packed ? 0x5eed_0002 : 0x5eed_0001);
        var popped = 0;
        var faults = new HashSet<QueueError>();
        var rejections = new HashSet<QueueError>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < InputsPerTarget; i++)
        {
            var input = i % 5 == 0 ? RandomInput(random) : Mutate(random, seeds[random.Next(seeds.Length)], seeds);
            FuzzOutcome outcome;
            try
            {
                outcome = ChainFuzzer.Execute(input, packed);
            }
            catch (Exception e)
            {
                Assert.Fail($"Input {i} threw; replay it with iovirt-fuzz --replay on a file holding {Convert.ToHexString(input)}\n{e}");
                throw;
            }

            popped += outcome.Chains;
            _ = outcome.CreateError == QueueError.None ? faults.Add(outcome.Fault) : rejections.Add(outcome.CreateError);
        }

        output.WriteLine($"{InputsPerTarget} inputs in {clock.ElapsedMilliseconds} ms: {popped} chains popped, faults seen: {string.Join(", ", faults)}; rejections: {string.Join(", ", rejections)}");

        // The mutations must reach the interesting paths, not only rejections.
        Assert.True(popped > InputsPerTarget, $"only {popped} chains popped");
        Assert.Contains(QueueError.None, faults);
        Assert.True(faults.Count > 3, "too few kinds of guest faults reached");
    }

    private static byte[] RandomInput(Random random)
    {
        var input = new byte[random.Next(0, 600)];
        random.NextBytes(input);
        return input;
    }

    /// <summary>A few AFL-style mutations: bit flips, random and boundary values, header fields, chunk insertion and removal, splices.</summary>
    private static byte[] Mutate(Random random, byte[] seed, byte[][] seeds)
    {
        var data = new List<byte>(seed);
        ReadOnlySpan<byte> interesting8 = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x10, 0x20];
        ReadOnlySpan<ushort> interesting16 = [0x0000, 0x7FFF, 0x8000, 0xFFFF, 0x0100, 0x1000, 0x00FF];
        var mutations = random.Next(1, 9);
        for (var m = 0; m < mutations && data.Count > 0; m++)
        {
            var at = random.Next(data.Count);
            switch (random.Next(8))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2:
                    data[at] = interesting8[random.Next(interesting8.Length)];
                    break;
                case 3 when at + 1 < data.Count:
                    var value = interesting16[random.Next(interesting16.Length)];
                    data[at] = unchecked((byte)value);
                    data[at + 1] = (byte)(value >> 8);
                    break;
                case 4:
                    data[random.Next(Math.Min(FuzzHeader.Size, data.Count))] = (byte)random.Next(256);
                    break;
                case 5:
                    data.RemoveRange(at, Math.Min(random.Next(1, 32), data.Count - at));
                    break;
                case 6:
                    var chunk = new byte[random.Next(1, 32)];
                    random.NextBytes(chunk);
                    data.InsertRange(at, chunk);
                    break;
                default:
                    var other = seeds[random.Next(seeds.Length)];
                    for (var i = at; i < Math.Min(data.Count, other.Length) && i < at + 64; i++)
                    {
                        data[i] = other[i];
                    }

                    break;
            }
        }

        return [.. data];
    }
}
