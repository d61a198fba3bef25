using IoVirt.Abi.Gpu;

namespace IoVirt.Tests.Abi;

/// <summary>GPU device layouts and constants (IoVirt.Abi.Gpu), virtio 1.2 §5.7, against linux/virtio_gpu.h.</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirtioGpuAbiTests(CHeaderProbe probe)
{
    public static TheoryData<string, ulong, ulong> Constants => new()
    {
        { "VIRTIO_GPU_F_VIRGL", VirtioGpuFeature.Virgl, 0 },
        { "VIRTIO_GPU_F_EDID", VirtioGpuFeature.Edid, 1 },
        { "VIRTIO_GPU_F_RESOURCE_UUID", VirtioGpuFeature.ResourceUuid, 2 },
        { "VIRTIO_GPU_F_RESOURCE_BLOB", VirtioGpuFeature.ResourceBlob, 3 },
        { "VIRTIO_GPU_F_CONTEXT_INIT", VirtioGpuFeature.ContextInit, 4 },
        { "VIRTIO_GPU_FLAG_FENCE", (ulong)VirtioGpuCtrlFlags.Fence, 1 },
        { "VIRTIO_GPU_FLAG_INFO_RING_IDX", (ulong)VirtioGpuCtrlFlags.InfoRingIdx, 2 },
        { "VIRTIO_GPU_EVENT_DISPLAY", VirtioGpuConfig.EventDisplay, 1 },
        { "VIRTIO_GPU_MAX_SCANOUTS", VirtioGpuConfig.MaxScanouts, 16 },
        { "VIRTIO_GPU_CMD_GET_DISPLAY_INFO", (ulong)VirtioGpuCtrlType.GetDisplayInfo, 0x100 },
        { "VIRTIO_GPU_CMD_RESOURCE_CREATE_2D", (ulong)VirtioGpuCtrlType.ResourceCreate2d, 0x101 },
        { "VIRTIO_GPU_CMD_RESOURCE_UNREF", (ulong)VirtioGpuCtrlType.ResourceUnref, 0x102 },
        { "VIRTIO_GPU_CMD_SET_SCANOUT", (ulong)VirtioGpuCtrlType.SetScanout, 0x103 },
        { "VIRTIO_GPU_CMD_RESOURCE_FLUSH", (ulong)VirtioGpuCtrlType.ResourceFlush, 0x104 },
        { "VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D", (ulong)VirtioGpuCtrlType.TransferToHost2d, 0x105 },
        { "VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING", (ulong)VirtioGpuCtrlType.ResourceAttachBacking, 0x106 },
        { "VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING", (ulong)VirtioGpuCtrlType.ResourceDetachBacking, 0x107 },
        { "VIRTIO_GPU_CMD_GET_CAPSET_INFO", (ulong)VirtioGpuCtrlType.GetCapsetInfo, 0x108 },
        { "VIRTIO_GPU_CMD_GET_CAPSET", (ulong)VirtioGpuCtrlType.GetCapset, 0x109 },
        { "VIRTIO_GPU_CMD_GET_EDID", (ulong)VirtioGpuCtrlType.GetEdid, 0x10a },
        { "VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID", (ulong)VirtioGpuCtrlType.ResourceAssignUuid, 0x10b },
        { "VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB", (ulong)VirtioGpuCtrlType.ResourceCreateBlob, 0x10c },
        { "VIRTIO_GPU_CMD_SET_SCANOUT_BLOB", (ulong)VirtioGpuCtrlType.SetScanoutBlob, 0x10d },
        { "VIRTIO_GPU_CMD_CTX_CREATE", (ulong)VirtioGpuCtrlType.CtxCreate, 0x200 },
        { "VIRTIO_GPU_CMD_CTX_DESTROY", (ulong)VirtioGpuCtrlType.CtxDestroy, 0x201 },
        { "VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE", (ulong)VirtioGpuCtrlType.CtxAttachResource, 0x202 },
        { "VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE", (ulong)VirtioGpuCtrlType.CtxDetachResource, 0x203 },
        { "VIRTIO_GPU_CMD_RESOURCE_CREATE_3D", (ulong)VirtioGpuCtrlType.ResourceCreate3d, 0x204 },
        { "VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D", (ulong)VirtioGpuCtrlType.TransferToHost3d, 0x205 },
        { "VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D", (ulong)VirtioGpuCtrlType.TransferFromHost3d, 0x206 },
        { "VIRTIO_GPU_CMD_SUBMIT_3D", (ulong)VirtioGpuCtrlType.Submit3d, 0x207 },
        { "VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB", (ulong)VirtioGpuCtrlType.ResourceMapBlob, 0x208 },
        { "VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB", (ulong)VirtioGpuCtrlType.ResourceUnmapBlob, 0x209 },
        { "VIRTIO_GPU_CMD_UPDATE_CURSOR", (ulong)VirtioGpuCtrlType.UpdateCursor, 0x300 },
        { "VIRTIO_GPU_CMD_MOVE_CURSOR", (ulong)VirtioGpuCtrlType.MoveCursor, 0x301 },
        { "VIRTIO_GPU_RESP_OK_NODATA", (ulong)VirtioGpuCtrlType.OkNoData, 0x1100 },
        { "VIRTIO_GPU_RESP_OK_DISPLAY_INFO", (ulong)VirtioGpuCtrlType.OkDisplayInfo, 0x1101 },
        { "VIRTIO_GPU_RESP_OK_CAPSET_INFO", (ulong)VirtioGpuCtrlType.OkCapsetInfo, 0x1102 },
        { "VIRTIO_GPU_RESP_OK_CAPSET", (ulong)VirtioGpuCtrlType.OkCapset, 0x1103 },
        { "VIRTIO_GPU_RESP_OK_EDID", (ulong)VirtioGpuCtrlType.OkEdid, 0x1104 },
        { "VIRTIO_GPU_RESP_OK_RESOURCE_UUID", (ulong)VirtioGpuCtrlType.OkResourceUuid, 0x1105 },
        { "VIRTIO_GPU_RESP_OK_MAP_INFO", (ulong)VirtioGpuCtrlType.OkMapInfo, 0x1106 },
        { "VIRTIO_GPU_RESP_ERR_UNSPEC", (ulong)VirtioGpuCtrlType.ErrUnspec, 0x1200 },
        { "VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY", (ulong)VirtioGpuCtrlType.ErrOutOfMemory, 0x1201 },
        { "VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID", (ulong)VirtioGpuCtrlType.ErrInvalidScanoutId, 0x1202 },
        { "VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID", (ulong)VirtioGpuCtrlType.ErrInvalidResourceId, 0x1203 },
        { "VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID", (ulong)VirtioGpuCtrlType.ErrInvalidContextId, 0x1204 },
        { "VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER", (ulong)VirtioGpuCtrlType.ErrInvalidParameter, 0x1205 },
        { "VIRTIO_GPU_CAPSET_VIRGL", VirtioGpuCapset.Virgl, 1 },
        { "VIRTIO_GPU_CAPSET_VIRGL2", VirtioGpuCapset.Virgl2, 2 },
        { "VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM", (ulong)VirtioGpuFormat.B8G8R8A8Unorm, 1 },
        { "VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM", (ulong)VirtioGpuFormat.B8G8R8X8Unorm, 2 },
        { "VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM", (ulong)VirtioGpuFormat.A8R8G8B8Unorm, 3 },
        { "VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM", (ulong)VirtioGpuFormat.X8R8G8B8Unorm, 4 },
        { "VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM", (ulong)VirtioGpuFormat.R8G8B8A8Unorm, 67 },
        { "VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM", (ulong)VirtioGpuFormat.X8B8G8R8Unorm, 68 },
        { "VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM", (ulong)VirtioGpuFormat.A8B8G8R8Unorm, 121 },
        { "VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM", (ulong)VirtioGpuFormat.R8G8B8X8Unorm, 134 },
    };

    [Fact]
    public void Header_rect_and_config_are_laid_out_as_the_spec_says()
    {
        AbiAssert.Layout<VirtioGpuCtrlHeader>(24, ("_type", 0), ("_flags", 4), ("_fenceId", 8), ("_ctxId", 16), ("_ringIdx", 20), ("_padding", 21));
        AbiAssert.Layout<VirtioGpuRect>(16, ("_x", 0), ("_y", 4), ("_width", 8), ("_height", 12));
        AbiAssert.Layout<VirtioGpuConfig>(16, ("_eventsRead", 0), ("_eventsClear", 4), ("_numScanouts", 8), ("_numCapsets", 12));
    }

    [Fact]
    public void Header_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioGpuCtrlHeader>("Type", 0, 4, (ref h, v) => h.Type = (VirtioGpuCtrlType)v, h => (ulong)h.Type);
        AbiAssert.LittleEndianField<VirtioGpuCtrlHeader>("Flags", 4, 4, (ref h, v) => h.Flags = (VirtioGpuCtrlFlags)v, h => (ulong)h.Flags);
        AbiAssert.LittleEndianField<VirtioGpuCtrlHeader>("FenceId", 8, 8, (ref h, v) => h.FenceId = v, h => h.FenceId);
        AbiAssert.LittleEndianField<VirtioGpuCtrlHeader>("CtxId", 16, 4, (ref h, v) => h.CtxId = (uint)v, h => h.CtxId);
        AbiAssert.LittleEndianField<VirtioGpuCtrlHeader>("RingIdx", 20, 1, (ref h, v) => h.RingIdx = (byte)v, h => h.RingIdx);
        AbiAssert.LittleEndianField<VirtioGpuTransferToHost2d>("Offset", 40, 8, (ref t, v) => t.Offset = v, t => t.Offset);
        AbiAssert.LittleEndianField<VirtioGpuMemEntry>("Addr", 0, 8, (ref e, v) => e.Addr = v, e => e.Addr);
        AbiAssert.LittleEndianField<VirtioGpuMemEntry>("Length", 8, 4, (ref e, v) => e.Length = (uint)v, e => e.Length);
    }

    [Fact]
    public void Command_and_response_structs_are_laid_out_as_the_spec_says()
    {
        AbiAssert.Layout<VirtioGpuResourceCreate2d>(40, ("_header", 0), ("_resourceId", 24), ("_format", 28), ("_width", 32), ("_height", 36));
        AbiAssert.Layout<VirtioGpuResourceIdCommand>(32, ("_header", 0), ("_resourceId", 24), ("_padding", 28));
        AbiAssert.Layout<VirtioGpuSetScanout>(48, ("_header", 0), ("_rect", 24), ("_scanoutId", 40), ("_resourceId", 44));
        AbiAssert.Layout<VirtioGpuResourceFlush>(48, ("_header", 0), ("_rect", 24), ("_resourceId", 40), ("_padding", 44));
        AbiAssert.Layout<VirtioGpuTransferToHost2d>(56, ("_header", 0), ("_rect", 24), ("_offset", 40), ("_resourceId", 48), ("_padding", 52));
        AbiAssert.Layout<VirtioGpuResourceAttachBacking>(32, ("_header", 0), ("_resourceId", 24), ("_nrEntries", 28));
        AbiAssert.Layout<VirtioGpuMemEntry>(16, ("_addr", 0), ("_length", 8), ("_padding", 12));
        AbiAssert.Layout<VirtioGpuGetEdid>(32, ("_header", 0), ("_scanout", 24), ("_padding", 28));
        AbiAssert.Layout<VirtioGpuRespEdid>(1056, ("_header", 0), ("_size", 24), ("_padding", 28));
        AbiAssert.Layout<VirtioGpuCursorPos>(16, ("_scanoutId", 0), ("_x", 4), ("_y", 8), ("_padding", 12));
        AbiAssert.Layout<VirtioGpuUpdateCursor>(56, ("_header", 0), ("_position", 24), ("_resourceId", 40), ("_hotX", 44), ("_hotY", 48), ("_padding", 52));
        AbiAssert.Layout<VirtioGpuDisplayOne>(24, ("_rect", 0), ("_enabled", 16), ("_flags", 20));
        AbiAssert.Layout<VirtioGpuRespDisplayInfo>(408, ("_header", 0), ("_modes", 24));
    }

    [Fact]
    public void Structs_3d_are_laid_out_as_the_spec_says()
    {
        AbiAssert.Layout<VirtioGpuGetCapsetInfo>(32, ("_header", 0), ("_capsetIndex", 24), ("_padding", 28));
        AbiAssert.Layout<VirtioGpuRespCapsetInfo>(40, ("_header", 0), ("_capsetId", 24), ("_capsetMaxVersion", 28), ("_capsetMaxSize", 32), ("_padding", 36));
        AbiAssert.Layout<VirtioGpuGetCapset>(32, ("_header", 0), ("_capsetId", 24), ("_capsetVersion", 28));
        AbiAssert.Layout<VirtioGpuCtxCreate>(96, ("_header", 0), ("_nameLength", 24), ("_contextInit", 28), ("_debugName", 32));
        AbiAssert.Layout<VirtioGpuBox>(24, ("_x", 0), ("_y", 4), ("_z", 8), ("_width", 12), ("_height", 16), ("_depth", 20));
        AbiAssert.Layout<VirtioGpuTransferHost3d>(72, ("_header", 0), ("_box", 24), ("_offset", 48), ("_resourceId", 56), ("_level", 60), ("_stride", 64), ("_layerStride", 68));
        AbiAssert.Layout<VirtioGpuCmdSubmit>(32, ("_header", 0), ("_size", 24), ("_padding", 28));
        AbiAssert.Layout<VirtioGpuResourceCreate3d>(
            72,
            ("_header", 0),
            ("_resourceId", 24),
            ("_target", 28),
            ("_format", 32),
            ("_bind", 36),
            ("_width", 40),
            ("_height", 44),
            ("_depth", 48),
            ("_arraySize", 52),
            ("_lastLevel", 56),
            ("_nrSamples", 60),
            ("_flags", 64),
            ("_padding", 68));
        AbiAssert.LittleEndianField<VirtioGpuTransferHost3d>("Offset", 48, 8, (ref t, v) => t.Offset = v, t => t.Offset);
        AbiAssert.LittleEndianField<VirtioGpuCmdSubmit>("StreamSize", 24, 4, (ref t, v) => t.StreamSize = (uint)v, t => t.StreamSize);
    }

    [Fact]
    public void Structs_3d_match_linux_virtio_gpu_h()
    {
        CHeaderAssert.Struct(probe, "virtio_gpu_get_capset_info", VirtioGpuGetCapsetInfo.Size, ("capset_index", VirtioGpuGetCapsetInfo.CapsetIndexOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_resp_capset_info",
            VirtioGpuRespCapsetInfo.Size,
            ("capset_id", VirtioGpuRespCapsetInfo.CapsetIdOffset),
            ("capset_max_version", VirtioGpuRespCapsetInfo.CapsetMaxVersionOffset),
            ("capset_max_size", VirtioGpuRespCapsetInfo.CapsetMaxSizeOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_get_capset", VirtioGpuGetCapset.Size, ("capset_id", VirtioGpuGetCapset.CapsetIdOffset), ("capset_version", VirtioGpuGetCapset.CapsetVersionOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_ctx_create",
            VirtioGpuCtxCreate.Size,
            ("nlen", VirtioGpuCtxCreate.NameLengthOffset),
            ("context_init", VirtioGpuCtxCreate.ContextInitOffset),
            ("debug_name", VirtioGpuCtxCreate.DebugNameOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_ctx_resource", VirtioGpuResourceIdCommand.Size, ("resource_id", VirtioGpuResourceIdCommand.ResourceIdOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_box", VirtioGpuBox.Size, ("x", 0), ("y", 4), ("z", 8), ("w", 12), ("h", 16), ("d", 20));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_transfer_host_3d",
            VirtioGpuTransferHost3d.Size,
            ("box", VirtioGpuTransferHost3d.BoxOffset),
            ("offset", VirtioGpuTransferHost3d.OffsetOffset),
            ("resource_id", VirtioGpuTransferHost3d.ResourceIdOffset),
            ("level", VirtioGpuTransferHost3d.LevelOffset),
            ("stride", VirtioGpuTransferHost3d.StrideOffset),
            ("layer_stride", VirtioGpuTransferHost3d.LayerStrideOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_cmd_submit", VirtioGpuCmdSubmit.Size, ("size", VirtioGpuCmdSubmit.SizeOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_resource_create_3d",
            VirtioGpuResourceCreate3d.Size,
            ("resource_id", VirtioGpuResourceCreate3d.ResourceIdOffset),
            ("target", VirtioGpuResourceCreate3d.TargetOffset),
            ("format", VirtioGpuResourceCreate3d.FormatOffset),
            ("bind", VirtioGpuResourceCreate3d.BindOffset),
            ("width", VirtioGpuResourceCreate3d.WidthOffset),
            ("height", VirtioGpuResourceCreate3d.HeightOffset),
            ("depth", VirtioGpuResourceCreate3d.DepthOffset),
            ("array_size", VirtioGpuResourceCreate3d.ArraySizeOffset),
            ("last_level", VirtioGpuResourceCreate3d.LastLevelOffset),
            ("nr_samples", VirtioGpuResourceCreate3d.NrSamplesOffset),
            ("flags", VirtioGpuResourceCreate3d.FlagsOffset));
    }

    [Fact]
    public void Structs_match_linux_virtio_gpu_h()
    {
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_ctrl_hdr",
            VirtioGpuCtrlHeader.Size,
            ("type", VirtioGpuCtrlHeader.TypeOffset),
            ("flags", VirtioGpuCtrlHeader.FlagsOffset),
            ("fence_id", VirtioGpuCtrlHeader.FenceIdOffset),
            ("ctx_id", VirtioGpuCtrlHeader.CtxIdOffset),
            ("ring_idx", VirtioGpuCtrlHeader.RingIdxOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_rect", VirtioGpuRect.Size, ("x", 0), ("y", 4), ("width", 8), ("height", 12));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_config",
            VirtioGpuConfig.Size,
            ("events_read", VirtioGpuConfig.EventsReadOffset),
            ("events_clear", VirtioGpuConfig.EventsClearOffset),
            ("num_scanouts", VirtioGpuConfig.NumScanoutsOffset),
            ("num_capsets", VirtioGpuConfig.NumCapsetsOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_resource_create_2d",
            VirtioGpuResourceCreate2d.Size,
            ("hdr", VirtioGpuResourceCreate2d.HeaderOffset),
            ("resource_id", VirtioGpuResourceCreate2d.ResourceIdOffset),
            ("format", VirtioGpuResourceCreate2d.FormatOffset),
            ("width", VirtioGpuResourceCreate2d.WidthOffset),
            ("height", VirtioGpuResourceCreate2d.HeightOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_resource_unref", VirtioGpuResourceIdCommand.Size, ("resource_id", VirtioGpuResourceIdCommand.ResourceIdOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_resource_detach_backing", VirtioGpuResourceIdCommand.Size, ("resource_id", VirtioGpuResourceIdCommand.ResourceIdOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_set_scanout",
            VirtioGpuSetScanout.Size,
            ("r", VirtioGpuSetScanout.RectOffset),
            ("scanout_id", VirtioGpuSetScanout.ScanoutIdOffset),
            ("resource_id", VirtioGpuSetScanout.ResourceIdOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_resource_flush", VirtioGpuResourceFlush.Size, ("r", VirtioGpuResourceFlush.RectOffset), ("resource_id", VirtioGpuResourceFlush.ResourceIdOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_transfer_to_host_2d",
            VirtioGpuTransferToHost2d.Size,
            ("r", VirtioGpuTransferToHost2d.RectOffset),
            ("offset", VirtioGpuTransferToHost2d.OffsetOffset),
            ("resource_id", VirtioGpuTransferToHost2d.ResourceIdOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_resource_attach_backing",
            VirtioGpuResourceAttachBacking.Size,
            ("resource_id", VirtioGpuResourceAttachBacking.ResourceIdOffset),
            ("nr_entries", VirtioGpuResourceAttachBacking.NrEntriesOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_mem_entry", VirtioGpuMemEntry.Size, ("addr", VirtioGpuMemEntry.AddrOffset), ("length", VirtioGpuMemEntry.LengthOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_cmd_get_edid", VirtioGpuGetEdid.Size, ("scanout", VirtioGpuGetEdid.ScanoutOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_resp_edid", VirtioGpuRespEdid.Size, ("size", VirtioGpuRespEdid.EdidSizeOffset), ("edid", VirtioGpuRespEdid.EdidOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_cursor_pos",
            VirtioGpuCursorPos.Size,
            ("scanout_id", VirtioGpuCursorPos.ScanoutIdOffset),
            ("x", VirtioGpuCursorPos.XOffset),
            ("y", VirtioGpuCursorPos.YOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_update_cursor",
            VirtioGpuUpdateCursor.Size,
            ("pos", VirtioGpuUpdateCursor.PositionOffset),
            ("resource_id", VirtioGpuUpdateCursor.ResourceIdOffset),
            ("hot_x", VirtioGpuUpdateCursor.HotXOffset),
            ("hot_y", VirtioGpuUpdateCursor.HotYOffset));
        CHeaderAssert.Struct(probe, "virtio_gpu_resp_display_info", VirtioGpuRespDisplayInfo.Size, ("pmodes", VirtioGpuRespDisplayInfo.ModesOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_gpu_display_one",
            VirtioGpuDisplayOne.Size,
            ("r", VirtioGpuDisplayOne.RectOffset),
            ("enabled", VirtioGpuDisplayOne.EnabledOffset),
            ("flags", VirtioGpuDisplayOne.FlagsOffset));
    }

    [Theory]
    [MemberData(nameof(Constants))]
    public void Feature_bits_message_types_and_formats_match_the_spec_and_linux_virtio_gpu_h(string cName, ulong ours, ulong spec) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61: false);
}
