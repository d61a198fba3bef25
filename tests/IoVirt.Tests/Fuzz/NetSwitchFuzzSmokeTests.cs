using IoVirt.Fuzz;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Fuzz;

/// <summary>
/// The <c>net-switch</c> target in-process: random scripts and mutated seeds must never throw (a
/// broken invariant throws too), and together they must reach every accepting path.
/// </summary>
public class NetSwitchFuzzSmokeTests
{
    private const int Inputs = 1500;

    [Fact]
    public void The_seeds_reach_delivery_both_ways_tagged_and_untagged_uplinks_the_learning_cap_and_the_drops()
    {
        var total = Sum(NetSwitchScript.Seeds().Select(seed => NetSwitchTarget.Run(seed)));
        AssertEveryPath(total);
    }

    [Fact]
    public void Random_scripts_never_break_the_switchs_invariants()
    {
        var random = new Random(0x5e7_0001);
        var outcomes = new List<NetSwitchOutcome>();
        for (var i = 0; i < Inputs; i++)
        {
            var input = RandomScript(random);
            var exception = Record.Exception(() => outcomes.Add(NetSwitchTarget.Run(input)));
            Assert.True(exception is null, $"input {Convert.ToHexString(input)}: {exception}");
        }

        AssertEveryPath(Sum(outcomes));
    }

    [Fact]
    public void Mutated_seeds_never_break_the_switchs_invariants()
    {
        var seeds = NetSwitchScript.Seeds();
        var random = new Random(0x5e7_0002);
        for (var i = 0; i < Inputs; i++)
        {
            var input = (byte[])seeds[random.Next(seeds.Length)].Clone();
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            var exception = Record.Exception(() => NetSwitchTarget.Run(input));
            Assert.True(exception is null, $"input {Convert.ToHexString(input)}: {exception}");
        }
    }

    /// <summary>A script of mostly well-formed steps with random MACs, lengths and tags (some of them bad).</summary>
    private static byte[] RandomScript(Random random)
    {
        var script = new NetSwitchScript();
        for (var steps = random.Next(1, 24); steps > 0; steps--)
        {
            // One frame in ten is of any length up to beyond the MTU, short ones included.
            var frame = new byte[random.Next(10) == 0 ? random.Next(0, 1600) : random.Next(14, 200)];
            random.NextBytes(frame);

            var destination = random.Next(0, 16);
            var source = random.Next(0, 16);
            switch (random.Next(6))
            {
                case 0 or 1:
                    script.FromGuest(random.Next(NetSwitchTarget.Guests), frame, destination, random.Next(4) == 0 ? source : NetSwitchScript.Guest(random.Next(NetSwitchTarget.Guests)));
                    break;
                case 2 or 3:
                    var vlan = random.Next(4) switch { 0 => 0, 1 => 10, 2 => 20, _ => random.Next(4096) };
                    script.FromUplink(random.Next(3) == 0 || frame.Length < 12 ? frame : Tagged(frame, (ushort)vlan), destination, source);
                    break;
                case 4:
                    script.Receive(random.Next(NetSwitchTarget.Guests));
                    break;
                default:
                    script.Wait((byte)random.Next(0, 12));
                    break;
            }
        }

        return script.ToArray();
    }

    private static NetSwitchOutcome Sum(IEnumerable<NetSwitchOutcome> outcomes) =>
        outcomes.Aggregate(default(NetSwitchOutcome), (sum, o) => new NetSwitchOutcome(
            sum.FromGuests + o.FromGuests,
            sum.FromUplink + o.FromUplink,
            sum.SentUpTagged + o.SentUpTagged,
            sum.SentUpUntagged + o.SentUpUntagged,
            sum.LearnRefused + o.LearnRefused,
            sum.UplinkDropped + o.UplinkDropped));

    private static void AssertEveryPath(NetSwitchOutcome total)
    {
        Assert.True(total.FromGuests > 0, $"no guest's frame reached another guest: {total}");
        Assert.True(total.FromUplink > 0, $"no frame from the uplink reached a guest: {total}");
        Assert.True(total.SentUpTagged > 0, $"nothing went up tagged: {total}");
        Assert.True(total.SentUpUntagged > 0, $"nothing went up untagged: {total}");
        Assert.True(total.LearnRefused > 0, $"the learning cap was never reached: {total}");
        Assert.True(total.UplinkDropped > 0, $"nothing from the uplink was dropped: {total}");
    }
}
