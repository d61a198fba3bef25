using System.Buffers.Binary;
using IoVirt.Sandbox;

namespace IoVirt.Tests.Sandbox;

/// <summary>
/// A classic BPF interpreter for the opcodes a seccomp filter here may use, as the kernel runs
/// them: every jump lands inside the program, every load is an aligned word of seccomp_data, and
/// every path ends in a return. Anything else is a broken filter and throws.
/// </summary>
internal static class ClassicBpf
{
    /// <summary>The verdict of <paramref name="program"/> for the call described by <paramref name="data"/> (64 bytes of seccomp_data).</summary>
    public static uint Run(ReadOnlySpan<BpfInstruction> program, ReadOnlySpan<byte> data) => Run(program, data, out _);

    /// <summary>As <see cref="Run(ReadOnlySpan{BpfInstruction}, ReadOnlySpan{byte})"/>, also counting the instructions executed.</summary>
    public static uint Run(ReadOnlySpan<BpfInstruction> program, ReadOnlySpan<byte> data, out int executed)
    {
        uint accumulator = 0;
        var pc = 0;
        executed = 0;
        while (true)
        {
            executed++;
            if ((uint)pc >= (uint)program.Length)
            {
                throw new InvalidOperationException($"the filter ran off its end at {pc}");
            }

            var instruction = program[pc];
            pc++;
            switch (instruction.Code)
            {
                case BpfInstruction.LoadWord:
                    if (instruction.K % 4 != 0 || instruction.K + 4 > (uint)data.Length)
                    {
                        throw new InvalidOperationException($"load of offset {instruction.K}");
                    }

                    accumulator = BinaryPrimitives.ReadUInt32LittleEndian(data[(int)instruction.K..]);
                    break;
                case BpfInstruction.Jump:
                    pc = checked(pc + (int)instruction.K);
                    break;
                case BpfInstruction.JumpIfEqual:
                    pc += accumulator == instruction.K ? instruction.JumpIfTrue : instruction.JumpIfFalse;
                    break;
                case BpfInstruction.JumpIfAtLeast:
                    pc += accumulator >= instruction.K ? instruction.JumpIfTrue : instruction.JumpIfFalse;
                    break;
                case BpfInstruction.JumpIfAnyBit:
                    pc += (accumulator & instruction.K) != 0 ? instruction.JumpIfTrue : instruction.JumpIfFalse;
                    break;
                case BpfInstruction.Return:
                    return instruction.K;
                default:
                    throw new InvalidOperationException($"opcode {instruction.Code:x} at {pc - 1}");
            }
        }
    }

    /// <summary>seccomp_data for a call: number, architecture, instruction pointer 0, six arguments.</summary>
    public static byte[] Data(uint number, uint architecture, ReadOnlySpan<ulong> arguments)
    {
        var data = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(data, number);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), architecture);
        for (var i = 0; i < arguments.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16 + (8 * i)), arguments[i]);
        }

        return data;
    }
}
