import numpy as np
import pytest
import torch

from model.config import PriceModelConfig
from model.price_net import ImageCNN, ModalityAttention, PriceSuggester, modality_dropout
from model.stats_input import StatsNormalizer
from model.text import PAD, UNK, Vocabulary, bigram_id

B = 4
FIELDS = {"brand": 5, "category": 3, "condition": 4}
SMALL = dict(image_size=32, conv_channels=(4, 8), vocab_size=50, bigram_buckets=16, text_length=6, embedding_dim=8,
             field_sizes=FIELDS, field_dim=4, fusion_dim=8, n_stats=3, hidden=(16,))


def batch(cfg: PriceModelConfig):
    torch.manual_seed(0)
    image = torch.rand(B, 3, cfg.image_size, cfg.image_size)
    tokens = torch.randint(0, cfg.vocab_size + cfg.bigram_buckets, (B, 2 * cfg.text_length))
    tokens[0] = 0  # an empty text
    stats = torch.randn(B, 2 * cfg.n_stats)
    fields = torch.stack([torch.randint(0, n, (B,)) for _, n in sorted(cfg.field_sizes.items())], dim=1)
    fields[1] = 0  # every form field missing
    return image, tokens, stats, fields


@pytest.mark.parametrize("variant", [
    {}, {"fusion": "concat"}, {"use_image": False}, {"use_text": False}, {"use_stats": False},
    {"use_fields": False}, {"image_encoder": "multi_task"}, {"detail_crop": 8, "detail_channels": (4, 8)},
])
def test_shapes_and_gradients_reach_every_parameter(variant):
    cfg = PriceModelConfig(**{**SMALL, **variant})
    model = PriceSuggester(cfg).train()
    regressor, classifier = model.outputs(*batch(cfg))
    assert regressor.value.shape == classifier.value.shape == regressor.list_value.shape == (B,)
    aux = sum(v.sum() for v in [*regressor.photo_logits.values(), *classifier.photo_logits.values()])
    (regressor.value.sum() + regressor.list_value.sum() + classifier.value.sum() + classifier.list_value.sum()
     + aux).backward()
    unused = {n for n, p in model.named_parameters() if p.grad is None}
    # multi-task classification heads are trained in pre-training, not by the price objective
    assert {n for n in unused if not (".tasks." in n and ".head." in n)} == set()


def test_photo_heads_read_each_form_field_from_the_photo():
    cfg = PriceModelConfig(**SMALL)
    out = PriceSuggester(cfg).regressor(*batch(cfg))
    assert {k: v.shape for k, v in out.photo_logits.items()} == {k: (B, n) for k, n in FIELDS.items()}
    assert PriceSuggester(PriceModelConfig(**{**SMALL, "photo_heads": False})).regressor(*batch(cfg)).photo_logits == {}


def test_detail_view_reads_only_the_central_square_at_full_resolution():
    cfg = PriceModelConfig(**{**SMALL, "detail_crop": 8, "detail_channels": (4, 8)})
    cnn = ImageCNN(cfg).eval()
    frame_dim = cnn.out_dim - 2 * 8
    image = torch.rand(2, 3, 32, 32)
    edited_edge, edited_centre = image.clone(), image.clone()
    edited_edge[:, :, :4] = 0.0  # outside the central 8x8 (rows 12..19)
    edited_centre[:, :, 15, 15] = 1.0 - edited_centre[:, :, 15, 15]  # one pixel inside it
    with torch.no_grad():
        base, edge, centre = cnn(image), cnn(edited_edge), cnn(edited_centre)
    assert torch.equal(base[:, frame_dim:], edge[:, frame_dim:])  # the detail view never sees the edge
    assert not torch.equal(base[:, :frame_dim], edge[:, :frame_dim])  # the frame view does
    assert not torch.equal(base[:, frame_dim:], centre[:, frame_dim:])  # a single central pixel reaches it
    with pytest.raises(ValueError, match="detail_crop"):
        PriceModelConfig(**{**SMALL, "detail_crop": 6, "detail_channels": (4, 8, 8)})  # 6 is not divisible by 4


def test_mirror_average_suggests_the_mean_of_both_readings_outside_training_only():
    model = PriceSuggester(PriceModelConfig(**{**SMALL, "mirror_average": True, "log_price_offset": 5.0})).eval()
    image, tokens, stats, fields = batch(model.cfg)
    with torch.no_grad():
        own = model.regressor(image, tokens, stats, fields).value
        mirrored = model.regressor(image.flip(-1), tokens, stats, fields).value
        assert not torch.allclose(own, mirrored)  # a random photo is not its own mirror image
        torch.testing.assert_close(model.log_price(image, tokens, stats, fields), (own + mirrored) / 2 + 5.0)
        torch.testing.assert_close(model(image, tokens, stats, fields)[0], (own + mirrored) / 2 + 5.0)
        model.cfg.mirror_average = False  # models saved before it: one reading
        torch.testing.assert_close(model.log_price(image, tokens, stats, fields), own + 5.0)
    model.cfg.mirror_average = True
    model.train()  # training reads each photo once (the augmentation mirrors half of them)
    torch.manual_seed(1)
    once = model.log_price(image, tokens, stats, fields)
    torch.manual_seed(1)
    torch.testing.assert_close(once, model.regressor(image, tokens, stats, fields).value + 5.0)


def test_regressor_and_classifier_share_no_parameters():
    model = PriceSuggester(PriceModelConfig(**SMALL))
    reg = {id(p) for p in model.regressor.parameters()}
    cls = {id(p) for p in model.classifier.parameters()}
    assert reg and cls and not reg & cls
    assert not torch.equal(model.regressor.head[0].weight, model.classifier.head[0].weight)


def test_attention_starts_from_equal_weights_and_the_identity():
    cfg = PriceModelConfig(**SMALL)
    model = PriceSuggester(cfg).eval()
    out = model.regressor(*batch(cfg))
    assert out.modality_weights.shape == (B, 2)
    assert torch.allclose(out.modality_weights, torch.full((B, 2), 0.5))
    visual, text = torch.randn(B, 8), torch.randn(B, 8)
    v, t, _ = ModalityAttention(8)(visual, text)
    assert torch.allclose(v, visual) and torch.allclose(t, text)  # 2 x 0.5: the scale a concat model sees
    assert PriceSuggester(PriceModelConfig(**{**SMALL, "fusion": "concat"})).regressor(*batch(cfg)).modality_weights is None


def test_modality_dropout_hides_one_modality_per_item_in_training_only():
    torch.manual_seed(1)
    visual, text = torch.ones(2000, 3), torch.ones(2000, 3)
    v, t = modality_dropout(visual, text, 0.2, training=True)
    hidden_photo, hidden_text = (v.sum(1) == 0), (t.sum(1) == 0)
    assert not (hidden_photo & hidden_text).any()  # never both
    assert 0.15 < hidden_photo.float().mean() < 0.25 and 0.15 < hidden_text.float().mean() < 0.25
    v, t = modality_dropout(visual, text, 0.2, training=False)
    assert torch.equal(v, visual) and torch.equal(t, text)


def test_counterfactuals_swap_in_the_categorys_reference_embedding():
    cfg = PriceModelConfig(**SMALL)
    model = PriceSuggester(cfg).eval()
    inputs = batch(cfg)
    logit, typical_photo, typical_text = model.qualification_counterfactuals(*inputs)
    assert torch.allclose(logit, model(*inputs)[1])
    encoded = model.classifier.encode(*inputs)
    model.reference_visual.copy_(torch.randn_like(model.reference_visual))
    _, typical_photo, typical_text = model.qualification_counterfactuals(*inputs)
    category = inputs[3][:, sorted(FIELDS).index("category")]
    expected = model.classifier.decide(type(encoded)(model.reference_visual[category], encoded.text, encoded.rest,
                                                     encoded.photo_logits)).value
    assert torch.allclose(typical_photo, expected)
    expected = model.classifier.decide(type(encoded)(encoded.visual, model.reference_text[category], encoded.rest,
                                                     encoded.photo_logits)).value
    assert torch.allclose(typical_text, expected)
    assert {"reference_visual", "reference_text"} <= set(model.state_dict())  # saved with the weights


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="fusion"):
        PriceModelConfig(fusion="sum")
    with pytest.raises(ValueError, match="at least one modality"):
        PriceModelConfig(use_image=False, use_text=False, use_stats=False, use_fields=False)
    with pytest.raises(ValueError, match="divisible"):
        PriceModelConfig(image_size=60)
    with pytest.raises(ValueError, match="field_sizes"):  # known once the inputs are fitted: checked at build
        PriceSuggester(PriceModelConfig(image_encoder="multi_task"))


def test_vocabulary_pads_truncates_marks_unknown_and_hashes_bigrams():
    vocab = Vocabulary(["phone", "red"])  # fitted in Spark: tests/training/test_input_fitting.py
    ids = vocab.encode(["Red PHONE, unseen", ""], length=4)
    assert ids.tolist() == [[3, 2, UNK, PAD], [PAD] * 4]
    long = vocab.encode(["red " * 40], length=32)
    assert long.shape == (1, 32) and (long == 3).all()
    with_bigrams = vocab.encode(["Red PHONE, unseen"], length=4, bigram_buckets=8)
    assert with_bigrams.shape == (1, 8) and with_bigrams[0, :4].tolist() == [3, 2, UNK, PAD]
    assert with_bigrams[0, 4:].tolist() == [vocab.size + bigram_id("red", "phone", 8),
                                            vocab.size + bigram_id("phone", "unseen", 8), PAD, PAD]
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab


def test_stats_normalizer_standardises_log_values_and_flags_missing():
    logs = np.log1p([10.0, 100.0, 1000.0])
    norm = StatsNormalizer(["a", "b"], [logs.mean(), 1.8], [logs.std(), 0.1])  # fitted in Spark (input_fitting)
    out = norm.transform(np.array([[100.0, np.nan]]))
    assert out.shape == (1, 4)
    assert out[0, 0] == pytest.approx((np.log1p(100.0) - logs.mean()) / logs.std(), rel=1e-5)
    assert out[0, 1] == 0.0 and out[0, 3] == 1.0 and out[0, 2] == 0.0
    assert StatsNormalizer.from_dict(norm.to_dict()) == norm


def test_photo_targets_prefer_the_brand_the_text_names():
    import pandas as pd

    from model.inputs import ModelInputs

    inputs = ModelInputs(Vocabulary([]), StatsNormalizer([], [], []), 16, 4, 0,
                         {"brand": ["Louis Vuitton", "Nike"], "category": ["bags"], "condition": ["new"]})
    frame = pd.DataFrame({"title": ["Louis Vuitton bag", "red bag", "nike shoes", "shoes"],
                          "description": ["", None, "", "Nikes and more"], "brand": ["Nike", "Nike", None, None],
                          "category": "bags", "condition": "new"})
    ids = inputs.field_ids(frame)
    assert ids[:, 0].tolist() == [2, 2, 0, 0]  # the form as typed
    # the photo heads learn the named brand over the form's, and from rows whose field is empty
    assert inputs.photo_targets(frame, ids)[:, 0].tolist() == [1, 2, 2, 0]  # "Nikes" is not "Nike"
