using System.Buffers.Binary;
using IoVirt.Abi.Gpu;
using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The gpu-command target in-process: the seeds run as a guest would (every command of the
/// drawing seed accepted), and mutations of them, with command types drawn from the real ones,
/// never throw.
/// </summary>
public class GpuFuzzSmokeTests
{
    private const int Inputs = 2000;

    private static readonly VirtioGpuCtrlType[] Types = Enum.GetValues<VirtioGpuCtrlType>();

    [Fact]
    public void The_seeds_are_accepted_as_a_guest_would_send_them()
    {
        var seeds = GpuCommandTarget.Seeds().ToArray();
        Assert.Equal(6, GpuCommandTarget.Run(seeds[0]));
        Assert.All(seeds[1..], seed => Assert.Equal(1, GpuCommandTarget.Run(seed)));
    }

    [Fact]
    public void Mutated_command_sequences_never_throw() => RunMutations(GpuCommandTarget.Seeds().ToArray(), input => GpuCommandTarget.Run(input), 0x69_0001);

    /// <summary>Runs <see cref="Inputs"/> mutations of the seeds through <paramref name="run"/>; none may throw, and more commands than inputs must be accepted.</summary>
    internal static void RunMutations(byte[][] seeds, Func<byte[], int> run, int seed)
    {
        var random = new Random(seed);
        var accepted = 0;
        for (var i = 0; i < Inputs; i++)
        {
            var input = seeds[random.Next(seeds.Length)].Concat(new byte[random.Next(0, 256)]).ToArray();
            random.NextBytes(input.AsSpan(input.Length - (input.Length % 5)));
            for (var edits = random.Next(0, 6); edits > 0; edits--)
            {
                var at = random.Next(input.Length);
                if (random.Next(3) == 0 && at + 6 <= input.Length)
                {
                    // A real command type where a header may be (after a 2-byte length).
                    BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(at), (uint)Types[random.Next(Types.Length)]);
                }
                else if (random.Next(2) == 0 && at + 4 <= input.Length)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(at), unchecked((uint)random.Next(-2, 70)));
                }
                else
                {
                    input[at] = (byte)random.Next(256);
                }
            }

            var exception = Record.Exception(() => accepted += run(input));
            Assert.True(exception is null, $"input {i} ({Convert.ToHexString(input)}): {exception}");
        }

        Assert.True(accepted > Inputs, $"only {accepted} commands accepted in {Inputs} inputs");
    }
}
