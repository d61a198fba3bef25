using System.Runtime.InteropServices;

namespace IoVirt.Sandbox;

/// <summary>
/// One classic BPF instruction (<c>struct sock_filter</c> of linux/filter.h), the form a seccomp
/// filter is written in; only the opcodes a syscall allowlist needs are named.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfInstruction(ushort Code, byte JumpIfTrue, byte JumpIfFalse, uint K)
{
    /// <summary>BPF_LD | BPF_W | BPF_ABS: the accumulator gets the 32-bit word at offset K of <c>seccomp_data</c>.</summary>
    public const ushort LoadWord = 0x20;

    /// <summary>BPF_JMP | BPF_JA: skip K instructions.</summary>
    public const ushort Jump = 0x05;

    /// <summary>BPF_JMP | BPF_JEQ | BPF_K.</summary>
    public const ushort JumpIfEqual = 0x15;

    /// <summary>BPF_JMP | BPF_JGE | BPF_K (unsigned).</summary>
    public const ushort JumpIfAtLeast = 0x35;

    /// <summary>BPF_JMP | BPF_JSET | BPF_K: true when the accumulator and K share a bit.</summary>
    public const ushort JumpIfAnyBit = 0x45;

    /// <summary>BPF_RET | BPF_K: the filter's verdict is K.</summary>
    public const ushort Return = 0x06;

    public static BpfInstruction Load(uint offset) => new(LoadWord, 0, 0, offset);

    public static BpfInstruction Verdict(uint action) => new(Return, 0, 0, action);
}
