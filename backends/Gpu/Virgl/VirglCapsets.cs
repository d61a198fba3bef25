using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;

namespace IoVirt.Backends.Gpu.Virgl;

/// <summary>
/// The capability sets the renderer offers (virgl and virgl2 where it has them), answered for
/// GET_CAPSET_INFO and GET_CAPSET. The sets are filled by the renderer each time they are asked
/// for, so they come from its thread.
/// </summary>
internal sealed unsafe class VirglCapsets
{
    private readonly (uint Id, uint MaxVersion, uint MaxSize)[] _sets;

    private VirglCapsets((uint Id, uint MaxVersion, uint MaxSize)[] sets)
    {
        _sets = sets;
        MaxSize = sets.Length == 0 ? 0 : (int)sets.Max(s => s.MaxSize);
    }

    public int Count => _sets.Length;

    /// <summary>Bytes of the largest set.</summary>
    public int MaxSize { get; }

    /// <summary>Asks the renderer (on its thread) which sets it has.</summary>
    public static VirglCapsets Query()
    {
        var sets = new List<(uint Id, uint MaxVersion, uint MaxSize)>();
        foreach (var id in (ReadOnlySpan<uint>)[VirtioGpuCapset.Virgl, VirtioGpuCapset.Virgl2])
        {
            uint version, size;
            VirglNative.GetCapSet(id, &version, &size);
            if (size != 0)
            {
                sets.Add((id, version, size));
            }
        }

        return new VirglCapsets([.. sets]);
    }

    /// <summary>GET_CAPSET_INFO: the whole answer into <paramref name="response"/>.</summary>
    public VirtioGpuCtrlType Info(uint index, Span<byte> response)
    {
        if (index >= (uint)_sets.Length)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        var (id, version, size) = _sets[index];
        var answer = new VirtioGpuRespCapsetInfo { CapsetId = id, CapsetMaxVersion = version, CapsetMaxSize = size };
        MemoryMarshal.Write(response, in answer);
        return VirtioGpuCtrlType.OkCapsetInfo;
    }

    /// <summary>GET_CAPSET: the set's bytes into <paramref name="data"/>; the answer's length (header and set) in <paramref name="length"/>.</summary>
    public VirtioGpuCtrlType Fill(uint id, uint version, Span<byte> data, ref int length)
    {
        foreach (var set in _sets)
        {
            if (set.Id == id && version <= set.MaxVersion)
            {
                var bytes = data[..(int)set.MaxSize];
                bytes.Clear();
                fixed (byte* caps = bytes)
                {
                    VirglNative.FillCaps(id, version, caps);
                }

                length = VirtioGpuCtrlHeader.Size + bytes.Length;
                return VirtioGpuCtrlType.OkCapset;
            }
        }

        return VirtioGpuCtrlType.ErrInvalidParameter;
    }
}
