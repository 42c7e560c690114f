"""The corpus's third-party models: built from their libraries' constructors or small configs, no weights."""
import torch
import torch.nn as nn

from corpus import Case


def _image(n=2, size=64):
    torch.manual_seed(0)
    return (torch.randn(n, 3, size, size),)


def _tv(name, **kwargs):
    def build():
        import torchvision
        torch.manual_seed(0)
        return getattr(torchvision.models, name)(weights=None, **kwargs), _image()
    return build


def _tv_detection(name, **kwargs):
    def build():
        import torchvision
        torch.manual_seed(0)
        model = getattr(torchvision.models.detection, name)(
            weights=None, weights_backbone=None, num_classes=3, min_size=64, max_size=64, **kwargs)
        return model, ([torch.rand(3, 64, 64)],)
    return build


def _tv_segmentation(name):
    def build():
        import torchvision
        torch.manual_seed(0)
        return getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None, num_classes=3, aux_loss=True), _image()
    return build


def _timm(name, **kwargs):
    def build():
        import timm
        torch.manual_seed(0)
        return timm.create_model(name, pretrained=False, **kwargs), _image(2, kwargs.get("img_size", 64))
    return build


def _bert():
    from transformers import BertConfig, BertForPreTraining
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        max_position_embeddings=32, attn_implementation="eager")
    return BertForPreTraining(config), (torch.randint(0, 64, (2, 8)),)


def _gpt2_double_heads():
    from transformers import GPT2Config, GPT2DoubleHeadsModel
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=2, n_positions=32, attn_implementation="eager")
    return GPT2DoubleHeadsModel(config), (torch.randint(0, 64, (2, 2, 8)),)


def _smp(name):
    def build():
        import segmentation_models_pytorch as smp
        torch.manual_seed(0)
        model = getattr(smp, name)("resnet18", encoder_weights=None, classes=2, aux_params={"classes": 3})
        return model, _image()
    return build


class ResNetMultiTask(nn.Module):
    """What a user writes: a torchvision ResNet-18 as trunk, two task heads."""

    def __init__(self):
        super().__init__()
        import torchvision
        resnet = torchvision.models.resnet18(weights=None)
        self.trunk = nn.Sequential(*list(resnet.children())[:-1])
        self.age = nn.Linear(512, 1)
        self.gender = nn.Linear(512, 2)

    def forward(self, x):
        t = torch.flatten(self.trunk(x), 1)
        return self.age(t), self.gender(t)


def _multitask():
    torch.manual_seed(0)
    return ResNetMultiTask(), _image()


THIRD_PARTY = [
    Case("deeplabv3_resnet50 (aux_loss)", "torchvision", _tv_segmentation("deeplabv3_resnet50"), [["classifier"], ["aux_classifier"]],
         expect_branches=["classifier", "aux_classifier"]),
    Case("fcn_resnet50 (aux_loss)", "torchvision", _tv_segmentation("fcn_resnet50"), [["classifier"], ["aux_classifier"]],
         expect_branches=["classifier", "aux_classifier"]),
    Case("googlenet (aux_logits, train)", "torchvision", _tv("googlenet", aux_logits=True, init_weights=False),
         [["aux1"], ["aux2"], ["inception4e", "inception5a", "inception5b", "fc"]]),
    Case("retinanet_resnet50_fpn (eval)", "torchvision", _tv_detection("retinanet_resnet50_fpn"),
         [["head.classification_head"], ["head.regression_head"]], train=False,
         expect_branches=["head.classification_head", "head.regression_head"]),
    Case("fcos_resnet50_fpn (eval)", "torchvision", _tv_detection("fcos_resnet50_fpn"),
         [["head.classification_head"], ["head.regression_head"]], train=False,
         expect_branches=["head.classification_head", "head.regression_head"]),
    Case("fasterrcnn_mobilenet_v3_large_fpn (eval)", "torchvision", _tv_detection("fasterrcnn_mobilenet_v3_large_fpn"),
         [["roi_heads.box_predictor.cls_score"], ["roi_heads.box_predictor.bbox_pred"]], train=False),
    Case("resnet18 trunk + two task heads", "torchvision", _multitask, [["age"], ["gender"]], expect_branches=["age", "gender"]),
    Case("mobilenet_v3_small (one head)", "torchvision", _tv("mobilenet_v3_small"), []),
    Case("deit_tiny_distilled_patch16_224", "timm", _timm("deit_tiny_distilled_patch16_224", img_size=32), [["head"], ["head_dist"]],
         expect_branches=["head", "head_dist"]),
    Case("levit_128s (distilled heads)", "timm", _timm("levit_128s", img_size=64), [["head"], ["head_dist"]], expect_branches=["head", "head_dist"]),
    Case("repvit_m1 (distilled heads averaged inside its classifier)", "timm", _timm("repvit_m1"), [["head.head"], ["head.head_dist"]],
         expect_branches=["head.head", "head.head_dist"]),
    Case("resnet18 (timm, one head)", "timm", _timm("resnet18"), []),
    Case("BertForPreTraining", "transformers", _bert, [["cls.predictions"], ["cls.seq_relationship"]],
         expect_branches=["cls.predictions", "cls.seq_relationship"]),
    Case("GPT2DoubleHeadsModel", "transformers", _gpt2_double_heads, [["lm_head"], ["multiple_choice_head"]],
         expect_branches=["lm_head", "multiple_choice_head"]),
    Case("smp.Unet (aux_params)", "smp", _smp("Unet"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
    Case("smp.FPN (aux_params)", "smp", _smp("FPN"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
    Case("smp.DeepLabV3Plus (aux_params)", "smp", _smp("DeepLabV3Plus"), [["decoder", "segmentation_head"], ["classification_head"]],
         expect_branches=["decoder", "classification_head"]),
]


def _inception():
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False), (torch.randn(2, 3, 299, 299),)


def _features_only():
    import timm
    torch.manual_seed(0)
    return timm.create_model("resnet18", features_only=True, pretrained=False), _image()


def _albert():
    from transformers import AlbertConfig, AlbertForPreTraining
    torch.manual_seed(0)
    config = AlbertConfig(vocab_size=64, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=37, max_position_embeddings=32, attn_implementation="eager")
    return AlbertForPreTraining(config), (torch.randint(0, 64, (2, 8)),)


def _ssdlite():
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
    return model, ([torch.rand(3, 64, 64)],)


def _bart():
    from transformers import BartConfig, BartForConditionalGeneration
    torch.manual_seed(0)
    config = BartConfig(vocab_size=64, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=32)
    ids = torch.randint(0, 64, (2, 8))
    return BartForConditionalGeneration(config), (ids, None, ids)


THIRD_PARTY += [
    Case("BartForConditionalGeneration (returns the encoder's output; no heads)", "transformers", _bart, [],
         fake_path="transformers builds the attention mask explicitly when it sees a FakeTensor (its is_tracing)"),
    Case("inception_v3 (aux_logits, train)", "torchvision", _inception, [["AuxLogits"], ["Mixed_7a", "Mixed_7b", "Mixed_7c", "fc"]]),
    Case("deeplabv3_mobilenet_v3_large (aux_loss)", "torchvision", _tv_segmentation("deeplabv3_mobilenet_v3_large"),
         [["classifier"], ["aux_classifier"]], expect_branches=["classifier", "aux_classifier"]),
    Case("ssdlite320_mobilenet_v3_large (eval)", "torchvision", _ssdlite, [["head.classification_head"], ["head.regression_head"]],
         train=False),
    Case("resnet18 features_only (no heads)", "timm", _features_only, []),
    Case("AlbertForPreTraining", "transformers", _albert, [["predictions"], ["sop_classifier"]],
         expect_branches=["predictions", "sop_classifier"]),
]


def _lraspp():
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3), _image()


def _mobilebert():
    from transformers import MobileBertConfig, MobileBertForPreTraining
    torch.manual_seed(0)
    config = MobileBertConfig(vocab_size=64, hidden_size=32, embedding_size=16, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=37, intra_bottleneck_size=16, true_hidden_size=16, max_position_embeddings=32)
    return MobileBertForPreTraining(config), (torch.randint(0, 64, (2, 8)),)


def _detector(config_class, model_class, **sizes):
    """A DETR-family detector on a small ResNet from transformers (no timm, no weights)."""
    from transformers import ResNetConfig
    torch.manual_seed(0)
    backbone = ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1], out_features=["stage4"])
    config = config_class(use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False, encoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37,
                          num_queries=5, num_labels=3, **sizes)
    return model_class(config), _image()


def _detr():
    from transformers import DetrConfig, DetrForObjectDetection
    return _detector(DetrConfig, DetrForObjectDetection, d_model=32, decoder_layers=1)


def _detr_segmentation():
    """The mask head is a child of the model, the class and box heads children of the detector inside it."""
    from transformers import DetrConfig, DetrForSegmentation, ResNetConfig
    torch.manual_seed(0)
    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1],
                            out_features=["stage1", "stage2", "stage3", "stage4"])
    config = DetrConfig(use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False, d_model=32,
                        encoder_layers=1, decoder_layers=1, encoder_attention_heads=8, decoder_attention_heads=8,
                        encoder_ffn_dim=37, decoder_ffn_dim=37, num_queries=5, num_labels=3)
    return DetrForSegmentation(config), _image(1)


def _dab_detr():
    """The decoder refines reference boxes with its own copy of the box MLP, tied to the box head
    (`_tied_weights_keys`); the model adds them into the box head's offsets."""
    from transformers import DabDetrConfig, DabDetrForObjectDetection
    return _detector(DabDetrConfig, DabDetrForObjectDetection, hidden_size=32, decoder_layers=2)


def _gpt2_lm():
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=2, n_positions=32, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config), (torch.randint(0, 64, (2, 8)),)


class _WithKeyValueCache(torch.nn.Module):
    """Returns the logits and every layer's cached keys and values, as a generation loop takes them (and as
    the tuples older transformers returned by default flatten): a result per layer that the layer's
    attention and the layers after it go on computing with. Taps on one computation, not heads."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, *decoder_ids):
        out = self.model(ids, **({"decoder_input_ids": decoder_ids[0]} if decoder_ids else {}), use_cache=True)
        cache = out.past_key_values
        caches = [getattr(cache, "self_attention_cache", cache), getattr(cache, "cross_attention_cache", None)]
        tensors = [t for c in caches if c is not None for layer in c.layers for t in (layer.keys, layer.values)] \
            if hasattr(caches[0], "layers") else [t for pair in cache for t in pair]
        first = out.logits if getattr(out, "logits", None) is not None else out.last_hidden_state
        return (first, *tensors)


def _with_cache(make):
    def build():
        model, inputs = make()
        return _WithKeyValueCache(model), inputs
    return build


def _base(make):
    """The causal LM's base model (`GPT2Model`, `LlamaModel`): the layers' last hidden state, no LM head."""
    def build():
        model, inputs = make()
        return model.base_model, inputs
    return build


def _t5():
    from transformers import T5Config, T5ForConditionalGeneration
    torch.manual_seed(0)
    config = T5Config(vocab_size=64, d_model=32, d_kv=16, d_ff=37, num_layers=2, num_heads=2)
    return T5ForConditionalGeneration(config), (torch.randint(0, 64, (2, 8)), torch.randint(0, 64, (2, 5)))


def _llama_lm():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, max_position_embeddings=32)
    return LlamaForCausalLM(config), (torch.randint(0, 64, (2, 8)),)


THIRD_PARTY += [
    Case("GPT2LMHeadModel returning its key-value cache (eval; no heads)", "transformers", _with_cache(_gpt2_lm), [], train=False),
    Case("LlamaForCausalLM returning its key-value cache (eval; no heads)", "transformers", _with_cache(_llama_lm), [], train=False),
    Case("GPT2Model (base) returning its key-value cache (eval; no heads)", "transformers", _with_cache(_base(_gpt2_lm)), [], train=False),
    Case("LlamaModel (base) returning its key-value cache (eval; no heads)", "transformers", _with_cache(_base(_llama_lm)), [], train=False),
    Case("T5ForConditionalGeneration returning its self- and cross-attention caches (eval; no heads)", "transformers",
         _with_cache(_t5), [], train=False),
]


THIRD_PARTY += [
    Case("lraspp_mobilenet_v3_large (one head: its classifier adds two paths)", "torchvision", _lraspp, []),
    Case("MobileBertForPreTraining", "transformers", _mobilebert, [["cls.predictions"], ["cls.seq_relationship"]],
         expect_branches=["cls.predictions", "cls.seq_relationship"]),
    Case("DetrForObjectDetection", "transformers", _detr, [["class_labels_classifier"], ["bbox_predictor"]],
         expect_branches=["class_labels_classifier", "bbox_predictor"]),
    Case("DabDetrForObjectDetection (box MLP tied into the decoder)", "transformers", _dab_detr,
         [["class_embed"], ["bbox_predictor"]], train=False, expect_branches=["class_embed", "bbox_predictor"],
         fake_path="transformers skips the encoder's all-ones attention mask only for real tensors (its is_tracing)"),
    Case("GPT2LMHeadModel (one head, tied to the embedding)", "transformers", _gpt2_lm, []),
    Case("DetrForSegmentation (the mask head one level above the others)", "transformers", _detr_segmentation,
         [["detr.class_labels_classifier"], ["detr.bbox_predictor"], ["mask_head", "bbox_attention"]],
         expect_branches=["detr.class_labels_classifier", "detr.bbox_predictor", "mask_head"]),
]


def _clip(shared_norm=False):
    def build():
        from transformers import CLIPConfig, CLIPModel
        torch.manual_seed(0)
        config = CLIPConfig(
            text_config=dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                             max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1),
            vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, image_size=32,
                               patch_size=8),
            projection_dim=16)
        model = CLIPModel(config)
        if shared_norm:  # the bug: one LayerNorm object in both towers
            model.vision_model.post_layernorm = model.text_model.final_layer_norm
        return model, (torch.randint(0, 64, (2, 8)), torch.randn(2, 3, 32, 32))
    return build


def _yolos():
    from transformers import YolosConfig, YolosForObjectDetection
    torch.manual_seed(0)
    config = YolosConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, image_size=[32, 32],
                         patch_size=8, num_detection_tokens=5, num_labels=3)
    return YolosForObjectDetection(config), (torch.randn(2, 3, 32, 32),)


_TOWERS = [["text_model", "text_projection"], ["vision_model", "visual_projection"]]


def _owl(version=1):
    """Open-vocabulary detection: the class head scores each image patch against text queries the text tower
    encodes from the second input (a similarity inside the head, which learns nothing); the box head reads the
    image alone. OWLv2 (`version=2`) adds an objectness head, which reads the image features detached."""
    import transformers
    prefix = "Owlv2" if version == 2 else "OwlViT"
    torch.manual_seed(0)
    config = getattr(transformers, prefix + "Config")(
        text_config=dict(vocab_size=64, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                         max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2),
        projection_dim=32)
    model = getattr(transformers, prefix + "ForObjectDetection")(config)
    return model, (torch.randint(0, 64, (2, 6)), torch.randn(1, 3, 32, 32), torch.ones(2, 6, dtype=torch.long))


def _owlvit():
    return _owl()


def _owlv2():
    return _owl(2)


THIRD_PARTY += [
    # Two towers on two inputs, no trunk: the text tower's hidden states are returned and gathered at each
    # sequence's last token (positions from argmax over the ids), which once made the text tower look like a trunk.
    Case("CLIPModel (two towers)", "transformers", _clip(), _TOWERS, expect_branches=["vision_model", "text_model"]),
    Case("CLIPModel, towers sharing a LayerNorm", "transformers", _clip(shared_norm=True), _TOWERS),
    # The text tower once became a third head whose queries the class head "leaked" from (exit 1).
    Case("OwlViTForObjectDetection (the class head scores the image against the text tower's queries)", "transformers", _owlvit,
         [["class_head"], ["box_head"]], train=False, expect_branches=["class_head", "box_head"],
         fake_path="transformers skips the text tower's all-ones attention mask only for real tensors (its is_tracing)"),
    Case("YolosForObjectDetection", "transformers", _yolos, [["class_labels_classifier"], ["bbox_predictor"]],
         expect_branches=["class_labels_classifier", "bbox_predictor"],
         fake_path="torch's fake kernel for bicubic upsampling of a transposed input gives its result other strides, so the "
                   "`.contiguous()` after it copies on real tensors only (one clone more in the real trace)"),
    Case("volo_d1_224 (token-labelling aux_head)", "timm", _timm("volo_d1_224", img_size=32), [["head"], ["aux_head"]],
         expect_branches=["head", "aux_head"]),
]


def _two_stage(kind, targets=False):
    """Faster / Mask / Keypoint R-CNN on a ResNet-18 FPN (the ResNet-50 ones take 3× longer and show nothing
    more); with `targets`, the training forward that returns the losses."""
    def build():
        import torchvision
        from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
        torch.manual_seed(0)
        backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
        model = getattr(torchvision.models.detection, kind)(backbone, num_classes=2 if kind == "KeypointRCNN" else 3, min_size=64, max_size=64)
        images = [torch.rand(3, 64, 64)]
        if not targets:
            return model, (images,)
        target = {"boxes": torch.tensor([[4., 4., 30., 30.], [20., 10., 60., 50.]]), "labels": torch.tensor([1, 2])}
        if kind == "MaskRCNN":
            target["masks"] = (torch.rand(2, 64, 64) > 0.5).to(torch.uint8)
        return model, (images, [target])
    return build


THIRD_PARTY += [
    # The second head pools the trunk's features at the boxes the box head returned: RoIAlign's backward ignores
    # the boxes (the exporter asks autograd: `no_grad_inputs`), so the heads stay two, trained apart.
    Case("MaskRCNN, ResNet-18 FPN (eval)", "torchvision", _two_stage("MaskRCNN"),
         [["roi_heads.box_head", "roi_heads.box_predictor"], ["roi_heads.mask_head", "roi_heads.mask_predictor"]], train=False,
         expect_branches=["roi_heads.box_head", "roi_heads.mask_head"]),
    Case("KeypointRCNN, ResNet-18 FPN (eval)", "torchvision", _two_stage("KeypointRCNN"),
         [["roi_heads.box_head", "roi_heads.box_predictor"], ["roi_heads.keypoint_head", "roi_heads.keypoint_predictor"]], train=False,
         expect_branches=["roi_heads.box_head", "roi_heads.keypoint_head"]),
    # Training with targets returns the losses: the box head reads the RPN's proposals, which require no gradient
    # (decoded from detached deltas and anchors made from the image size), so no tie between the two.
    Case("FasterRCNN, ResNet-18 FPN (train, losses)", "torchvision", _two_stage("FasterRCNN", targets=True),
         [["rpn"], ["roi_heads"]], expect_branches=["rpn", "roi_heads"]),
]


def _rt_detr(config_name="RTDetrConfig", model_name="RTDetrForObjectDetection"):
    """Each decoder layer's box head refines the reference points the next layer reads detached; its class
    head scores the layer's queries. D-FINE (`DFineConfig`) on the same sizes also recomputes its box
    weighting from two scalar parameters in every decoder layer."""
    import transformers
    torch.manual_seed(0)
    backbone = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1],
                                         out_features=["stage2", "stage3", "stage4"])
    config = getattr(transformers, config_name)(
        backbone_config=backbone, use_timm_backbone=False, use_pretrained_backbone=False, encoder_hidden_dim=16, d_model=16,
        encoder_in_channels=[16, 24, 32], decoder_in_channels=[16, 16, 16], encoder_ffn_dim=32, decoder_ffn_dim=32,
        decoder_layers=2, decoder_attention_heads=2, encoder_attention_heads=2, num_queries=10, num_labels=3,
        num_denoising=0, anchor_image_size=None)
    return getattr(transformers, model_name)(config), _image(1)


THIRD_PARTY += [
    # The encoder's proposal heads are returned (and trained) too, beside the decoder, which holds the per-layer
    # box and class heads: those are heads beside the proposal heads (D-FINE's decoder computes in its own forward
    # with what both its class and box heads give, so it stays one head). Before `.detach()` stopped every gradient sweep, the
    # decoder layers were taken for heads.
    Case("RTDetrForObjectDetection (eval; box refinement through detached reference points)", "transformers", _rt_detr,
         [["model.enc_score_head"], ["model.enc_bbox_head"], ["model.decoder"]], train=False,
         expect_branches=["model.enc_score_head", "model.enc_bbox_head", "model.decoder.bbox_embed", "model.decoder.class_embed"]),
    Case("DFineForObjectDetection (eval; box weighting recomputed from parameters in each layer)", "transformers",
         lambda: _rt_detr("DFineConfig", "DFineForObjectDetection"), [["model.enc_score_head"], ["model.enc_bbox_head"], ["model.decoder"]],
         train=False, expect_branches=["model.enc_score_head", "model.enc_bbox_head", "model.decoder"]),
]


def _deformable_detr(two_stage=False):
    """Without box refinement (the default): one class head and one box head in every decoder-layer slot, by
    design — the slot-i pair reads layer i's output. `two_stage` (with box refinement): a head of its own per
    slot, the decoder holding the same lists, and the last slot of each called only by the encoder's proposal
    head (`model.enc_output`)."""
    from transformers import DeformableDetrConfig, DeformableDetrForObjectDetection, ResNetConfig

    def build():
        torch.manual_seed(0)
        backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1], out_features=["stage2", "stage3", "stage4"])
        config = DeformableDetrConfig(backbone_config=backbone, use_timm_backbone=False, use_pretrained_backbone=False, d_model=32,
                                      encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                                      encoder_ffn_dim=37, decoder_ffn_dim=37, num_queries=10, num_labels=3, num_feature_levels=3,
                                      with_box_refine=two_stage, two_stage=two_stage, two_stage_num_proposals=10)
        return DeformableDetrForObjectDetection(config), _image(1)
    return build


THIRD_PARTY += [
    Case("DeformableDetrForObjectDetection (eval; class and box heads shared across decoder layers by design)", "transformers",
         _deformable_detr(), [["class_embed"], ["bbox_embed"]], train=False, expect_branches=["class_embed", "bbox_embed"]),
    # The proposal head's class layer is `class_embed.2` (and `model.decoder.class_embed.2`): one head names it,
    # only the proposal head's ops use it, which once read as sharing between the two.
    Case("DeformableDetrForObjectDetection (eval; two-stage with box refinement: the encoder's proposal head uses the last class "
         "and box layers)", "transformers", _deformable_detr(two_stage=True), [["class_embed"], ["bbox_embed"]], train=False),
]


def _grounding_dino(share_box_heads):
    """Grounding DINO, two-stage, on a small ResNet and a one-layer BERT. The encoder's proposal embedding
    (`model.enc_output`, `model.enc_output_norm`) feeds the proposal box head and the proposal class head, which
    has no weights: it scores the embedding against the text. The decoder normalizes its last state twice (once
    for the stack the heads read, once for the state it returns). `share_box_heads`: the per-layer box heads are
    one set of weights, tied by the model (`decoder_bbox_embed_share`, the default)."""
    from transformers import BertConfig, GroundingDinoConfig, GroundingDinoForObjectDetection, ResNetConfig

    def build():
        torch.manual_seed(0)
        backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1], out_features=["stage2", "stage3", "stage4"])
        text = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, vocab_size=100)
        config = GroundingDinoConfig(backbone_config=backbone, text_config=text, use_timm_backbone=False, use_pretrained_backbone=False,
                                     d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                                     encoder_ffn_dim=37, decoder_ffn_dim=37, num_queries=10, num_feature_levels=3, two_stage=True,
                                     decoder_bbox_embed_share=share_box_heads, max_text_len=16)
        return GroundingDinoForObjectDetection(config), (torch.randn(1, 3, 64, 64), torch.randint(1, 100, (1, 7)))
    return build


THIRD_PARTY += [
    # The proposal embedding once joined the box head (only its results are learned ones), so the class head's
    # scores read across heads; the decoder's second normalization read as heads computing one result.
    Case("GroundingDinoForObjectDetection (eval; two-stage: the proposal class head scores, without weights, the embedding "
         "the proposal box head computes with)", "transformers", _grounding_dino(share_box_heads=False), [["class_embed"], ["bbox_embed"]],
         train=False),
    # The per-layer box heads are one set of weights inside the box branch, which alone cannot say whether they were
    # meant as heads of their own; the model's `_tied_weights_keys` says so, and the trace records it (`declared`).
    Case("GroundingDinoForObjectDetection (eval; two-stage, per-layer box heads tied by the model)", "transformers",
         _grounding_dino(share_box_heads=True), [["class_embed"], ["bbox_embed"]], train=False),
]


def _upernet(labels):
    """UperNet on a small ConvNeXt with its auxiliary head: the forward runs `auxiliary_head` always, but only
    its loss reads the result, so without `labels` nothing it computes reaches an output."""
    from transformers import ConvNextConfig, UperNetConfig, UperNetForSemanticSegmentation

    def build():
        torch.manual_seed(0)
        backbone = ConvNextConfig(hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1], out_features=["stage1", "stage2", "stage3", "stage4"])
        config = UperNetConfig(backbone_config=backbone, hidden_size=16, auxiliary_channels=8, use_auxiliary_head=True, num_labels=3)
        model = UperNetForSemanticSegmentation(config)
        (image,) = _image()
        # forward(pixel_values, output_attentions, output_hidden_states, labels)
        return model, (image, None, None, torch.randint(0, 3, (2, 64, 64))) if labels else (image,)
    return build


THIRD_PARTY += [
    Case("UperNetForSemanticSegmentation (auxiliary head, given labels: the loss reads both heads)", "transformers", _upernet(True),
         [["decode_head"], ["auxiliary_head"]], expect_branches=["decode_head", "auxiliary_head"]),
    Case("UperNetForSemanticSegmentation (auxiliary head, no labels: its result reaches no output)", "transformers", _upernet(False),
         [], undecided="no-branches"),
]


class _WithValueHead(torch.nn.Module):
    """A causal LM with a value head on its last hidden state, as TRL's `AutoModelForCausalLMWithValueHead` writes
    it for RLHF: the LM head is a child of the wrapped model, the value head the wrapper's own — heads at two
    levels, neither with a sibling head. `inplace`: the hidden state scaled in place (`mul_`) for the value head
    after the LM head read it (None: the twin without the in-place op)."""

    def __init__(self, inplace=False):
        super().__init__()
        from transformers import GPT2Config, GPT2LMHeadModel
        config = GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=2, n_positions=32, bos_token_id=0, eos_token_id=0)
        self.pretrained_model = GPT2LMHeadModel(config)
        self.v_head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(32, 1))
        self.inplace = inplace

    def forward(self, input_ids):
        out = self.pretrained_model(input_ids=input_ids, output_hidden_states=True, use_cache=False)
        last = out.hidden_states[-1]
        if self.inplace is None:
            last = last * 2
        elif self.inplace:
            last = last.mul_(2)
        return out.logits, self.v_head(last).squeeze(-1)


def _value_head(inplace=False):
    def build():
        torch.manual_seed(0)
        model = _WithValueHead(inplace)
        torch.manual_seed(1)
        return model, (torch.randint(0, 64, (2, 6)),)
    return build


_LM_AND_VALUE = [["pretrained_model.lm_head"], ["v_head"]]
THIRD_PARTY += [
    Case("GPT2LMHeadModel with a value head (TRL's AutoModelForCausalLMWithValueHead)", "transformers", _value_head(),
         _LM_AND_VALUE, expect_branches=["v_head", "pretrained_model.lm_head"],
         fake_path="transformers builds the attention mask explicitly when it sees a FakeTensor (its is_tracing)"),
    Case("GPT2LMHeadModel with a value head reading the hidden state after mul_", "transformers", _value_head(True),
         _LM_AND_VALUE, twin=_value_head(None), expect_branches=["v_head", "pretrained_model.lm_head"],
         fake_path="transformers builds the attention mask explicitly when it sees a FakeTensor (its is_tracing)"),
]


def _lxmert():
    from transformers import LxmertConfig, LxmertForPreTraining
    torch.manual_seed(0)
    config = LxmertConfig(vocab_size=40, hidden_size=16, num_attention_heads=2, intermediate_size=32, l_layers=1, x_layers=1,
                          r_layers=1, visual_feat_dim=8, visual_pos_dim=4, num_qa_labels=5, num_object_labels=6, num_attr_labels=7)
    return LxmertForPreTraining(config), (torch.randint(0, 40, (2, 5)), torch.randn(2, 3, 8), torch.rand(2, 3, 4))


THIRD_PARTY += [
    # `cls` holds the MLM and NSP heads beside `answer_head`: the heads it holds are heads beside the answer head
    # (once `cls` was one head, its two never compared). The object-prediction heads run only given their labels.
    Case("LxmertForPreTraining (its cls holding two heads beside the answer head)", "transformers", _lxmert,
         [["cls.predictions"], ["cls.seq_relationship"], ["answer_head"]],
         expect_branches=["cls.predictions", "cls.seq_relationship", "answer_head"]),
]
