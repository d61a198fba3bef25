using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Memory;
using Tmds.Linux;

namespace IoVirt.Backends.Gpu.Virgl;

/// <summary>
/// One guest's 3D state in the renderer: its contexts and 3D resources, and the commands on them.
/// Every id, size, box and backing range is checked here before the renderer sees it; what only
/// the renderer can judge (formats, binds, the command stream) it checks itself, and it only ever
/// reaches this guest's own backing. Ids pass to the renderer unchanged: resource ids
/// are written inside command streams, so the renderer serves one guest at a time (see
/// <see cref="VirglRenderer.Claim"/>). Runs on the renderer's thread only.
/// </summary>
internal sealed unsafe class VirglState(VirglRenderer renderer, GpuDeviceOptions options, ResourceQuota quota)
{
    /// <summary>Gallium's targets: a buffer (its width is its size in bytes) and the textures whose layers live in a box's y or z.</summary>
    private const uint PipeBuffer = 0;
    private const uint PipeTexture1d = 1;
    private const uint PipeTexture3d = 3;
    private const uint PipeTextureCube = 4;
    private const uint PipeTexture1dArray = 6;
    private const uint PipeTexture2dArray = 7;
    private const uint PipeTextureCubeArray = 8;

    /// <summary>Gallium's plain 2D texture target, the one a scanout can show.</summary>
    public const uint PipeTexture2d = 2;

    /// <summary>Gallium's texture targets end at cube arrays (8).</summary>
    private const uint MaxTarget = 8;

    private const uint MaxLayers = 2048;
    private const uint MaxLevel = 15;
    private const uint MaxSamples = 32;

    /// <summary>Largest uncompressed pixel (R32G32B32A32): the quota's charge for a format it does not know.</summary>
    private const uint WidestPixel = 16;

    private readonly Dictionary<uint, VirglResource> _resources = [];
    private readonly HashSet<uint> _contexts = [];

    public bool Owns(uint resourceId) => _resources.ContainsKey(resourceId);

    public bool TryGet(uint resourceId, out VirglResource resource) => _resources.TryGetValue(resourceId, out resource!);

    public VirtioGpuCtrlType CreateContext(uint contextId, ReadOnlySpan<byte> name)
    {
        // Context 0 is the renderer's own; a guest's contexts are counted so it cannot exhaust it.
        if (contextId == 0 || _contexts.Contains(contextId) || _contexts.Count >= options.MaxContexts)
        {
            return VirtioGpuCtrlType.ErrInvalidContextId;
        }

        fixed (byte* n = name)
        {
            if (VirglNative.ContextCreate(contextId, (uint)name.Length, n) != 0)
            {
                return VirtioGpuCtrlType.ErrUnspec;
            }
        }

        _contexts.Add(contextId);
        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType DestroyContext(uint contextId)
    {
        if (!_contexts.Remove(contextId))
        {
            return VirtioGpuCtrlType.ErrInvalidContextId;
        }

        VirglNative.ContextDestroy(contextId);
        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>CTX_ATTACH_RESOURCE and CTX_DETACH_RESOURCE. A 2D resource may be named (a guest's kernel attaches every buffer to its contexts) and changes nothing.</summary>
    public VirtioGpuCtrlType AttachToContext(uint contextId, uint resourceId, bool attach, bool is2d)
    {
        if (!_contexts.Contains(contextId))
        {
            return VirtioGpuCtrlType.ErrInvalidContextId;
        }

        if (!_resources.ContainsKey(resourceId))
        {
            return is2d ? VirtioGpuCtrlType.OkNoData : VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (attach)
        {
            VirglNative.ContextAttachResource((int)contextId, (int)resourceId);
        }
        else
        {
            VirglNative.ContextDetachResource((int)contextId, (int)resourceId);
        }

        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>RESOURCE_CREATE_3D, charged to the guest's quota.</summary>
    public VirtioGpuCtrlType Create(in VirtioGpuResourceCreate3d command)
    {
        if (command.Target > MaxTarget || command.Width is 0 or > GpuDeviceOptions.MaxResourceSide || command.Height is 0 or > GpuDeviceOptions.MaxResourceSide
            || command.Depth is 0 or > MaxLayers || command.ArraySize is 0 or > MaxLayers || command.LastLevel > MaxLevel || command.NrSamples > MaxSamples)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        var bytes = BytesFor(command);
        if (!quota.TryCharge(bytes))
        {
            return VirtioGpuCtrlType.ErrOutOfMemory;
        }

        var args = new VirglNative.ResourceCreateArgs
        {
            Handle = command.ResourceId,
            Target = command.Target,
            Format = command.Format,
            Bind = command.Bind,
            Width = command.Width,
            Height = command.Height,
            Depth = command.Depth,
            ArraySize = command.ArraySize,
            LastLevel = command.LastLevel,
            NrSamples = command.NrSamples,
            Flags = command.Flags,
        };
        if (VirglNative.ResourceCreate(&args, null, 0) != 0)
        {
            quota.Release(bytes);
            return VirtioGpuCtrlType.ErrInvalidParameter; // a format, bind or shape the renderer refuses
        }

        _resources.Add(command.ResourceId, new VirglResource(command, bytes));
        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType Unref(uint resourceId)
    {
        if (!_resources.Remove(resourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        Detach(resource);
        VirglNative.ResourceUnref(resourceId);
        quota.Release(resource.Bytes);
        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>
    /// RESOURCE_ATTACH_BACKING: the renderer keeps pointers to the pages, so the guest memory they
    /// are in is retained until the backing is detached.
    /// </summary>
    public VirtioGpuCtrlType AttachBacking(GuestMemory memory, uint resourceId, ReadOnlySpan<VirtioGpuMemEntry> entries)
    {
        if (!_resources.TryGetValue(resourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (resource.Iov is not null || entries.IsEmpty)
        {
            return VirtioGpuCtrlType.ErrUnspec;
        }

        // A piece may cross regions: at most this many host segments each.
        const int segmentsPerPiece = 8;
        var pieces = new (ulong Address, uint Length)[entries.Length];
        var iov = (iovec*)NativeMemory.Alloc((nuint)(entries.Length * segmentsPerPiece), (nuint)sizeof(iovec));
        var count = 0;
        Span<HostSegment> segments = stackalloc HostSegment[segmentsPerPiece];
        for (var i = 0; i < entries.Length; i++)
        {
            var (address, length) = (entries[i].Addr, entries[i].Length);
            var found = memory.Scatter(address, length, segments, out var fault);
            if (fault != MemoryFault.None)
            {
                NativeMemory.Free(iov);
                return VirtioGpuCtrlType.ErrUnspec;
            }

            foreach (var segment in segments[..found])
            {
                iov[count++] = new iovec { iov_base = segment.Pointer, iov_len = (size_t)(nuint)segment.Length };
            }

            pieces[i] = (address, length);
        }

        if (VirglNative.ResourceAttachIov((int)resourceId, iov, count) != 0)
        {
            NativeMemory.Free(iov);
            return VirtioGpuCtrlType.ErrUnspec;
        }

        resource.Iov = iov;
        resource.Memory = memory.Retain();
        resource.Pieces = pieces;
        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType DetachBacking(uint resourceId)
    {
        if (!_resources.TryGetValue(resourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        return Detach(resource) ? VirtioGpuCtrlType.OkNoData : VirtioGpuCtrlType.ErrUnspec;
    }

    /// <summary>TRANSFER_TO_HOST_3D (and TRANSFER_TO_HOST_2D on a 3D resource): from the backing into the resource.</summary>
    public VirtioGpuCtrlType TransferToHost(in VirtioGpuTransferHost3d command, uint contextId) =>
        Transfer(command, contextId, toHost: true, null);

    /// <summary>TRANSFER_FROM_HOST_3D: from the resource into the backing, which the dirty log then covers.</summary>
    public VirtioGpuCtrlType TransferFromHost(in VirtioGpuTransferHost3d command, uint contextId, GuestMemory memory) =>
        Transfer(command, contextId, toHost: false, memory);

    /// <summary>SUBMIT_3D: the stream, already copied out of guest memory, so the guest cannot change it while the renderer parses it.</summary>
    public VirtioGpuCtrlType Submit(uint contextId, ReadOnlySpan<byte> stream)
    {
        if (!_contexts.Contains(contextId))
        {
            return VirtioGpuCtrlType.ErrInvalidContextId;
        }

        if (stream.Length % sizeof(uint) != 0)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        fixed (byte* words = stream)
        {
            return VirglNative.SubmitCmd(words, (int)contextId, stream.Length / sizeof(uint)) == 0 ? VirtioGpuCtrlType.OkNoData : VirtioGpuCtrlType.ErrInvalidParameter;
        }
    }

    /// <summary>Waits until the GPU has done everything submitted so far.</summary>
    public bool Fence() => renderer.Fence(options.FenceTimeout);

    /// <summary>Reads a 2D resource's rectangle into <paramref name="pixels"/> (rows of <paramref name="stride"/> bytes, the rectangle at its own place), for a scanout.</summary>
    public bool ReadBack(uint resourceId, VirtioGpuRect rect, Span<byte> pixels, int stride)
    {
        var box = new VirtioGpuBox(rect.X, rect.Y, 0, rect.Width, rect.Height, 1);
        fixed (byte* p = pixels)
        {
            var iov = new iovec { iov_base = p, iov_len = (size_t)(nuint)pixels.Length };
            var offset = ((ulong)rect.Y * (ulong)stride) + ((ulong)rect.X * GpuResource.BytesPerPixel);
            return VirglNative.TransferReadIov(resourceId, 0, 0, (uint)stride, 0, &box, offset, &iov, 1) == 0;
        }
    }

    /// <summary>Drops every context and resource of this guest (device reset, or the device's end).</summary>
    public void Reset()
    {
        foreach (var context in _contexts)
        {
            VirglNative.ContextDestroy(context);
        }

        _contexts.Clear();
        foreach (var resource in _resources.Values)
        {
            Detach(resource);
            VirglNative.ResourceUnref(resource.Id);
            quota.Release(resource.Bytes);
        }

        _resources.Clear();
    }

    /// <summary>
    /// The quota's charge: a buffer's bytes, or pixels times layers times samples at the format's
    /// size (the widest pixel for formats not known here: never under-counted), plus a third for
    /// the mip chain.
    /// </summary>
    private static ulong BytesFor(in VirtioGpuResourceCreate3d command)
    {
        if (command.Target == PipeBuffer)
        {
            return command.Width;
        }

        var pixel = GpuResource.IsKnownFormat((VirtioGpuFormat)command.Format) ? (ulong)GpuResource.BytesPerPixel : WidestPixel;
        var bytes = (ulong)command.Width * command.Height * command.Depth * command.ArraySize * Math.Max(command.NrSamples, 1U) * pixel;
        return command.LastLevel == 0 ? bytes : bytes + ((bytes + 2) / 3);
    }

    private VirtioGpuCtrlType Transfer(in VirtioGpuTransferHost3d command, uint contextId, bool toHost, GuestMemory? memory)
    {
        if (!_resources.TryGetValue(command.ResourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (contextId != 0 && !_contexts.Contains(contextId))
        {
            return VirtioGpuCtrlType.ErrInvalidContextId;
        }

        if (resource.Iov is null)
        {
            return VirtioGpuCtrlType.ErrUnspec;
        }

        // The renderer checks the bytes a box spans against the backing, which is the guest's
        // own; the box itself is checked here, as the renderer spends seconds on one billions of
        // layers deep before it refuses it.
        var box = command.Box;
        if (!IsInside(resource, command.Level, box))
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        var status = toHost
            ? VirglNative.TransferWriteIov(resource.Id, contextId, (int)command.Level, command.Stride, command.LayerStride, &box, command.Offset, null, 0)
            : VirglNative.TransferReadIov(resource.Id, contextId, command.Level, command.Stride, command.LayerStride, &box, command.Offset, null, 0);
        if (status != 0)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        if (memory is not null)
        {
            foreach (var (address, length) in resource.Pieces)
            {
                memory.MarkDirty(address, length);
            }
        }

        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>Whether <paramref name="box"/> lies in mip <paramref name="level"/> of the resource, its layers counted where its target keeps them (y for 1D arrays, z otherwise).</summary>
    private static bool IsInside(VirglResource resource, uint level, in VirtioGpuBox box)
    {
        if (level > resource.LastLevel)
        {
            return false;
        }

        var width = Math.Max(resource.Width >> (int)level, 1U);
        var height = Math.Max(resource.Height >> (int)level, 1U);
        var layers = resource.Target switch
        {
            PipeTexture3d => Math.Max(resource.Depth >> (int)level, 1U),
            PipeTextureCube => 6U,
            PipeTexture2dArray or PipeTextureCubeArray => resource.ArraySize,
            _ => 1U,
        };
        if (resource.Target == PipeTexture1dArray)
        {
            height = resource.ArraySize;
        }
        else if (resource.Target is PipeBuffer or PipeTexture1d)
        {
            height = 1;
        }

        return (ulong)box.X + box.Width <= width && (ulong)box.Y + box.Height <= height && (ulong)box.Z + box.Depth <= layers;
    }

    /// <summary>Takes the backing back from the renderer (which may write its copy out to it first) and lets the memory go.</summary>
    private static bool Detach(VirglResource resource)
    {
        if (resource.Iov is null)
        {
            return false;
        }

        iovec* iov;
        int count;
        VirglNative.ResourceDetachIov((int)resource.Id, &iov, &count);
        NativeMemory.Free(resource.Iov);
        resource.Iov = null;
        resource.Pieces = [];
        resource.Memory?.Dispose();
        resource.Memory = null;
        return true;
    }
}
