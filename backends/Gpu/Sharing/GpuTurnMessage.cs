using System.Runtime.InteropServices;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>What a guest's GPU process and the GPU-time arbiter say to each other.</summary>
public enum GpuTurnKind : uint
{
    /// <summary>Guest → arbiter: it has work and waits for a turn.</summary>
    Request = 1,

    /// <summary>Guest → arbiter: its turn is over.</summary>
    Done = 2,

    /// <summary>Arbiter → guest: the GPU is the guest's until it says Done or Yield.</summary>
    Grant = 3,

    /// <summary>
    /// Guest → arbiter: its turn is over and it has more work. One
    /// message, so the arbiter weighs the guest's next turn with the others' before it grants one.
    /// </summary>
    Yield = 4,

    /// <summary>
    /// Arbiter → guest holding the GPU: a guest that was idle asks for it, so give it back at the
    /// end of the submission running now rather than at the end of the slice (as a CPU scheduler
    /// preempts for a task that wakes). There is no preempting the GPU mid-submission.
    /// </summary>
    Preempt = 5,
}

/// <summary>One message between a guest's GPU process and the arbiter: 16 bytes on a Unix stream socket (Value: the submissions a Done or Yield turn ran, for logs; else 0).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct GpuTurnMessage
{
    public const int Size = 16;

    public GpuTurnKind Kind;
    public uint Reserved;
    public ulong Value;

    public GpuTurnMessage(GpuTurnKind kind, ulong value)
    {
        Kind = kind;
        Value = value;
    }
}
