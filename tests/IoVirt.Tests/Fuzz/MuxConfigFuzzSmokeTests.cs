using System.Text;
using IoVirt.Fuzz;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The mux-config target in-process: its seeds are accepted, and mutations of them (bytes
/// flipped, cut, values swapped for odd ones) never throw nor yield an unreadable error or an
/// accepted config that breaks a documented rule.
/// </summary>
public class MuxConfigFuzzSmokeTests
{
    private const int Inputs = 4000;

    private static readonly string[] OddValues = ["0", "-1", "1e400", "\"\"", "null", "[]", "{}", "\"1T\"", "\"0x10\"", "65536", "4095", "\"ff:ff:ff:ff:ff:ff\"", "true", "\"a\"", "\"a\\nb\"", "\"\\u0007\""];

    [Fact]
    public void Mutated_configs_are_accepted_by_the_rules_or_refused_in_one_readable_line()
    {
        var dir = Directory.CreateTempSubdirectory("iovirt-mux-config-").FullName;
        try
        {
            var seeds = Enumerable.Range(0, MuxConfigTarget.WriteSeeds(dir)).Select(i => File.ReadAllText(Path.Combine(dir, $"seed-{i}"))).ToArray();
            Assert.All(seeds, seed => Assert.True(MuxConfigTarget.Run(Encoding.UTF8.GetBytes(seed)), seed));
            var random = new Random(0x4d55_0001);
            var accepted = 0;
            for (var i = 0; i < Inputs; i++)
            {
                var input = Mutate(seeds[random.Next(seeds.Length)], random);
                var exception = Record.Exception(() => accepted += MuxConfigTarget.Run(input) ? 1 : 0);
                Assert.True(exception is null, $"input {Encoding.UTF8.GetString(input)}: {exception}");
            }

            Assert.InRange(accepted, Inputs / 50, Inputs - (Inputs / 50));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Mutate(string seed, Random random)
    {
        var text = seed;
        switch (random.Next(4))
        {
            case 0:
                // A value replaced by an odd one.
                var colons = Enumerable.Range(0, text.Length).Where(i => text[i] == ':').ToArray();
                var at = colons[random.Next(colons.Length)] + 1;
                var end = text.IndexOfAny([',', '}', ']'], at);
                text = string.Concat(text.AsSpan(0, at), " ", OddValues[random.Next(OddValues.Length)], text.AsSpan(end < 0 ? text.Length : end));
                break;
            case 1:
                // Cut short.
                text = text[..random.Next(text.Length)];
                break;
            case 2:
                // A device repeated, so names, sockets and MACs collide.
                var open = text.IndexOf("{ \"name\"", StringComparison.Ordinal);
                var close = open < 0 ? -1 : text.IndexOf('}', open);
                text = open < 0 ? text : text.Insert(close + 1, ", " + text[open..(close + 1)]);
                break;
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        for (var flips = random.Next(0, 3); flips > 0 && bytes.Length > 0; flips--)
        {
            bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
        }

        return bytes;
    }
}
