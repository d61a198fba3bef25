namespace IoVirt.Sandbox;

/// <summary>
/// Compiles syscall rules into a seccomp filter: a call from another architecture kills the
/// process, an x32 call or one not listed gets the denial, a listed one its rule. The rules are
/// searched as a balanced binary tree on the syscall number, so a call passes about log2(n)
/// comparisons, not n: the filter runs on every system call of the data path.
/// </summary>
public static class SeccompProgram
{
    /// <summary>BPF_MAXINSNS: the kernel refuses longer classic BPF programs.</summary>
    public const int MaxInstructions = 4096;

    public static BpfInstruction[] Compile(IReadOnlyList<SyscallRule> rules, uint denial)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var sorted = rules.OrderBy(rule => rule.Number).ToArray();
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Number == sorted[i - 1].Number)
            {
                throw new ArgumentException($"{sorted[i].Name} and {sorted[i - 1].Name} are both syscall {sorted[i].Number}", nameof(rules));
            }
        }

        var program = new List<BpfInstruction>
        {
            BpfInstruction.Load(SeccompData.Architecture),
            new(BpfInstruction.JumpIfEqual, 1, 0, SeccompData.ArchX8664),
            BpfInstruction.Verdict(SeccompReturn.KillProcess),
            BpfInstruction.Load(SeccompData.Number),
            new(BpfInstruction.JumpIfAtLeast, 0, 1, SeccompData.X32Bit),
            BpfInstruction.Verdict(denial),
        };
        if (sorted.Length == 0)
        {
            program.Add(BpfInstruction.Verdict(denial));
        }
        else
        {
            EmitTree(program, sorted, denial);
        }

        if (program.Count > MaxInstructions)
        {
            throw new ArgumentException($"{sorted.Length} rules need {program.Count} instructions, more than the kernel's {MaxInstructions}", nameof(rules));
        }

        return [.. program];
    }

    /// <summary>Rules with numbers in one span: at or above the middle one's number, jump to the right half.</summary>
    private static void EmitTree(List<BpfInstruction> program, ReadOnlySpan<SyscallRule> rules, uint denial)
    {
        if (rules.Length == 1)
        {
            EmitLeaf(program, rules[0], denial);
            return;
        }

        var middle = rules.Length / 2;
        var left = new List<BpfInstruction>();
        EmitTree(left, rules[..middle], denial);
        program.Add(new BpfInstruction(BpfInstruction.JumpIfAtLeast, 0, 1, rules[middle].Number));
        program.Add(new BpfInstruction(BpfInstruction.Jump, 0, 0, (uint)left.Count));
        program.AddRange(left);
        EmitTree(program, rules[middle..], denial);
    }

    /// <summary>The one rule a number can still match: its number, else the denial.</summary>
    private static void EmitLeaf(List<BpfInstruction> program, SyscallRule rule, uint denial)
    {
        var body = Body(rule, denial);
        program.Add(new BpfInstruction(BpfInstruction.JumpIfEqual, 0, checked((byte)body.Count), rule.Number));
        program.AddRange(body);
        program.Add(BpfInstruction.Verdict(denial));
    }

    private static List<BpfInstruction> Body(SyscallRule rule, uint denial)
    {
        switch (rule.Check)
        {
            case SyscallCheck.Allowed:
                return [BpfInstruction.Verdict(SeccompReturn.Allow)];
            case SyscallCheck.Refused refused:
                return [BpfInstruction.Verdict(SeccompReturn.Errno(refused.Errno))];
            case SyscallCheck.ArgumentWithout without:
                return
                [
                    BpfInstruction.Load(SeccompData.ArgumentLow(CheckedArgument(rule, without.Argument))),
                    new(BpfInstruction.JumpIfAnyBit, 0, 1, without.Mask),
                    BpfInstruction.Verdict(denial),
                    BpfInstruction.Verdict(SeccompReturn.Allow),
                ];
            case SyscallCheck.ArgumentIn argumentIn:
                var values = argumentIn.Values;
                if (values.Count is 0 or > 250)
                {
                    throw new ArgumentException($"{rule.Name} lists {values.Count} values; 1 to 250 fit one jump", nameof(rule));
                }

                var body = new List<BpfInstruction> { BpfInstruction.Load(SeccompData.ArgumentLow(CheckedArgument(rule, argumentIn.Argument))) };
                for (var i = 0; i < values.Count; i++)
                {
                    // Past the remaining comparisons and the denial, onto the allow.
                    body.Add(new BpfInstruction(BpfInstruction.JumpIfEqual, (byte)(values.Count - i), 0, values[i]));
                }

                body.Add(BpfInstruction.Verdict(denial));
                body.Add(BpfInstruction.Verdict(SeccompReturn.Allow));
                return body;
            default:
                throw new ArgumentException($"{rule.Name} has a check this compiler does not know", nameof(rule));
        }
    }

    private static int CheckedArgument(SyscallRule rule, int argument) =>
        argument is >= 0 and < 6 ? argument : throw new ArgumentException($"{rule.Name} checks argument {argument}; syscalls have 0 to 5", nameof(rule));
}
