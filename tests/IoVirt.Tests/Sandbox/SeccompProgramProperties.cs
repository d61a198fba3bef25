using FsCheck;
using FsCheck.Fluent;
using IoVirt.Sandbox;

namespace IoVirt.Tests.Sandbox;

/// <summary>
/// The compiled filter against the rules it was compiled from: for any call (number, architecture,
/// arguments), running the BPF program gives what the rules say. The numbers drawn are mostly the
/// listed ones and their neighbours, where a search tree goes wrong, plus x32 and random ones.
/// </summary>
public class SeccompProgramProperties
{
    private const int Self = 4242;
    private static readonly IReadOnlyList<SyscallRule> Allowlist = SyscallAllowlist.For(Self);

    [Theory]
    [InlineData(SeccompReturn.KillProcess)]
    [InlineData(SeccompReturn.Log)]
    public void The_allowlist_filter_judges_every_call_as_its_rules_do(uint denial)
    {
        var program = SeccompProgram.Compile(Allowlist, denial);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000).WithQuietOnSuccess(true), Prop.ForAll(Calls(Allowlist).ToArbitrary(), call =>
            ClassicBpf.Run(program, ClassicBpf.Data(call.Number, call.Architecture, call.Arguments)) == Expected(Allowlist, denial, call)));
    }

    [Fact]
    public void Random_rule_sets_compile_to_filters_that_judge_as_their_rules_do()
    {
        var rules =
            from numbers in Gen.ArrayOf(Gen.Choose(0, 600)).Select(n => n.Distinct().ToArray())
            from checks in Gen.ArrayOf(Checks(), numbers.Length)
            select numbers.Zip(checks, (n, c) => new SyscallRule($"call{n}", (uint)n, c)).ToArray();
        var cases =
            from set in rules
            from calls in Gen.ArrayOf(Calls(set), 40)
            select (Set: set, Calls: calls);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), Prop.ForAll(cases.ToArbitrary(), test =>
        {
            var program = SeccompProgram.Compile(test.Set, SeccompReturn.KillProcess);
            return test.Calls.All(call =>
                ClassicBpf.Run(program, ClassicBpf.Data(call.Number, call.Architecture, call.Arguments)) == Expected(test.Set, SeccompReturn.KillProcess, call));
        }));
    }

    [Fact]
    public void The_allowlist_is_searched_in_a_few_comparisons_not_one_per_call()
    {
        var program = SeccompProgram.Compile(Allowlist, SeccompReturn.KillProcess);

        // A linear list would run about as many instructions as there are rules below a call's number.
        var most = Allowlist.Max(rule =>
        {
            _ = ClassicBpf.Run(program, ClassicBpf.Data(rule.Number, SeccompData.ArchX8664, [Self, 0, 0, 0, 0, 0]), out var executed);
            return executed;
        });
        Assert.InRange(most, 1, 24);
        Assert.True(program.Length < SeccompProgram.MaxInstructions);
    }

    [Fact]
    public void Two_rules_for_one_number_are_refused()
    {
        Assert.Throws<ArgumentException>(() => SeccompProgram.Compile([SyscallRule.Allow("read", 0), SyscallRule.Allow("again", 0)], SeccompReturn.KillProcess));
    }

    internal readonly record struct Call(uint Number, uint Architecture, ulong[] Arguments)
    {
        public override string ToString() => $"nr {Number} arch {Architecture:x} args [{string.Join(", ", Arguments.Select(a => a.ToString("x")))}]";
    }

    private static Gen<SyscallCheck> Checks() => Gen.OneOf(
        Gen.Constant<SyscallCheck>(SyscallCheck.Allowed.Instance),
        Gen.Choose(1, 4095).Select(errno => (SyscallCheck)new SyscallCheck.Refused(errno)),
        from argument in Gen.Choose(0, 5)
        from values in Gen.NonEmptyListOf(Gen.Elements(0u, 1u, 15u, 0x5401u, uint.MaxValue))
        select (SyscallCheck)new SyscallCheck.ArgumentIn(argument, values.Distinct().ToArray()),
        from argument in Gen.Choose(0, 5)
        from mask in Gen.Elements(0x7E020000u, 1u, 0x80000000u)
        select (SyscallCheck)new SyscallCheck.ArgumentWithout(argument, mask));

    private static Gen<Call> Calls(IReadOnlyList<SyscallRule> rules)
    {
        var listed = rules.Count == 0 ? Gen.Constant(0u) : Gen.Elements(rules.Select(rule => rule.Number).ToArray());
        var number = Gen.Frequency(
            (6, listed),
            (2, from n in listed from delta in Gen.Elements(-1, 1) select unchecked((uint)((int)n + delta))),
            (1, Gen.Choose(0, 600).Select(n => (uint)n)),
            (1, from n in listed select n | SeccompData.X32Bit),
            (1, ArbMap.Default.GeneratorFor<uint>()));
        var architecture = Gen.Frequency((9, Gen.Constant(SeccompData.ArchX8664)), (1, Gen.Elements(0x40000003u, 0xC00000B7u, 0u)));
        var low = Gen.Frequency(
            (3, Gen.Elements(0u, 1u, 3u, 4u, 15u, 16u, (uint)Self, 0x5401u, 0x400454d0u, 0x53564d41u, 0x11u, 0x20000u, 0x10000000u, 0x40000000u)),
            (1, ArbMap.Default.GeneratorFor<uint>()));
        var high = Gen.Frequency((3, Gen.Constant(0u)), (1, ArbMap.Default.GeneratorFor<uint>()));
        var argument = from l in low from h in high select ((ulong)h << 32) | l;
        return from n in number
               from arch in architecture
               from args in Gen.ArrayOf(argument, 6)
               select new Call(n, arch, args);
    }

    /// <summary>What the rules say, written without the compiler's tree or jumps.</summary>
    private static uint Expected(IReadOnlyList<SyscallRule> rules, uint denial, Call call)
    {
        if (call.Architecture != SeccompData.ArchX8664)
        {
            return SeccompReturn.KillProcess;
        }

        if (call.Number >= SeccompData.X32Bit || rules.FirstOrDefault(rule => rule.Number == call.Number) is not { } rule)
        {
            return denial;
        }

        return rule.Check switch
        {
            SyscallCheck.Allowed => SeccompReturn.Allow,
            SyscallCheck.Refused refused => SeccompReturn.Errno(refused.Errno),
            SyscallCheck.ArgumentIn argumentIn => argumentIn.Values.Contains(unchecked((uint)call.Arguments[argumentIn.Argument])) ? SeccompReturn.Allow : denial,
            SyscallCheck.ArgumentWithout without => (unchecked((uint)call.Arguments[without.Argument]) & without.Mask) == 0 ? SeccompReturn.Allow : denial,
            _ => throw new InvalidOperationException("unknown check"),
        };
    }
}
