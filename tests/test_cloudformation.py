"""The three templates: cfn-lint clean, and the security and wiring properties the issue
asks for, checked on the parsed templates (moto cannot create CloudFront resources)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from privpi import keys
from privpi.aws import edgebuild
from privpi.aws.deploy import TEMPLATES as TEMPLATE_DIR
from privpi.aws.deploy import Deployer, Settings
from privpi.aws.runtime import LAMBDA_PYTHON
from tests.support.cloudformation import load_template

TEMPLATES = sorted(Path(TEMPLATE_DIR).glob("*.yaml"))


def load(name: str) -> dict:
    return load_template(Path(TEMPLATE_DIR) / f"{name}.yaml")


def resources(template: dict, kind: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.mark.slow
def test_every_template_passes_cfn_lint_without_warnings():
    assert [t.stem for t in TEMPLATES] == ["authenticator", "bucket", "distribution"]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    res = subprocess.run(
        [str(cfn_lint), *map(str, TEMPLATES)], capture_output=True, text=True, timeout=120
    )
    assert (res.returncode, res.stdout + res.stderr) == (0, "")


# -- bucket -----------------------------------------------------------------------------------


def test_bucket_is_private_versioned_encrypted_and_kept():
    bucket = load("bucket")["Resources"]["Bucket"]
    props = bucket["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_bucket_lifecycle_expires_incoming_and_old_versions():
    rules = load("bucket")["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    incoming = next(r for r in rules if r.get("Prefix") == "incoming/")
    assert incoming["ExpirationInDays"] == 1
    versions = next(r for r in rules if "Prefix" not in r)
    assert versions["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "OldVersionDays"}


def test_bucket_policy_denies_plain_http_and_lets_only_the_distribution_read_packages():
    t = load("bucket")
    statements = t["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny, conditional = statements
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    condition, allow, otherwise = conditional["Fn::If"]
    assert condition == "HasDistribution"
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert allow == {
        "Sid": "AllowCloudFrontReadPackages",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${Bucket.Arn}/packages/*"},
        "Condition": {"StringEquals": {"AWS:SourceArn": {"Ref": "DistributionArn"}}},
    }


def statements(template: dict, resource: str) -> list[dict]:
    """The policy statements of a managed policy or a role (conditional ones resolved to
    what they are once the distribution exists)."""
    props = template["Resources"][resource]["Properties"]
    documents = [props["PolicyDocument"]] if "PolicyDocument" in props else [
        p["PolicyDocument"] for p in props.get("Policies", [])
    ]  # fmt: skip
    found = []
    for doc in documents:
        for st in doc["Statement"]:
            found.append(st["Fn::If"][1] if "Fn::If" in st else st)
    return found


def actions(st: dict) -> list[str]:
    return st["Action"] if isinstance(st["Action"], list) else [st["Action"]]


def test_bucket_managed_policies_stay_in_their_prefixes():
    t = load("bucket")
    policies = resources(t, "AWS::IAM::ManagedPolicy")
    assert set(policies) == {"PublisherPolicy", "UserAdminPolicy", "ConsolePolicy"}

    def object_resources(name):
        found = set()
        for st in statements(t, name):
            if st["Action"] not in ("s3:ListBucket", "cloudfront:CreateInvalidation"):
                listed = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                found |= {r["Fn::Sub"] for r in listed}
        return found

    assert object_resources("UserAdminPolicy") == {
        "${Bucket.Arn}/config/users.json",
        "${Bucket.Arn}/config/audit/*",
    }
    assert "${Bucket.Arn}/config/users.json" not in object_resources("PublisherPolicy")
    # readers (privpi projects, the console) store the listing summary under console/, and
    # a change whose audit event failed updates it (privpi.listing)
    for writer in ("PublisherPolicy", "ConsolePolicy"):
        assert "${Bucket.Arn}/console/*" in object_resources(writer)
    role = t["Resources"]["ConsoleRole"]["Properties"]
    assert {"Ref": "ConsolePolicy"} in role["ManagedPolicyArns"]


@pytest.mark.parametrize("policy", ["PublisherPolicy", "UserAdminPolicy", "ConsolePolicy"])
def test_every_policy_that_reads_objects_may_list_the_bucket_so_missing_keys_are_404(policy):
    # S3 answers a missing key with 403 to a caller without s3:ListBucket on the bucket
    # (API_GetObject.html); a condition on s3:prefix never holds for a GET.
    found = statements(load("bucket"), policy)
    assert any("s3:GetObject" in actions(st) for st in found)
    listing = [st for st in found if "s3:ListBucket" in actions(st)]
    assert listing == [
        {
            "Sid": "ListRepository",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]},
        }
    ]


def test_only_the_publishing_policies_invalidate_and_only_this_distribution():
    t = load("bucket")
    for policy in ("PublisherPolicy", "ConsolePolicy", "UserAdminPolicy"):
        invalidating = [
            st for st in statements(t, policy) if "cloudfront:CreateInvalidation" in actions(st)
        ]
        if policy == "UserAdminPolicy":
            assert invalidating == []
            continue
        (st,) = invalidating
        assert (st["Effect"], st["Action"]) == ("Allow", "cloudfront:CreateInvalidation")
        condition, arn, before = st["Resource"]["Fn::If"]
        assert (condition, arn) == ("HasDistribution", {"Ref": "DistributionArn"})
        assert before["Fn::Sub"].endswith(":distribution/NONE")  # no distribution yet: none
    assert {
        "Sid": "ReadDistributionId",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${Bucket.Arn}/" + keys.DISTRIBUTION},
    } in statements(t, "PublisherPolicy")


def test_cors_only_for_the_console_origin():
    cors = load("bucket")["Resources"]["Bucket"]["Properties"]["CorsConfiguration"]["Fn::If"]
    assert cors[0] == "HasConsoleOrigin"
    rule = cors[1]["CorsRules"][0]
    assert rule["AllowedOrigins"] == [{"Ref": "ConsoleOrigin"}]
    assert rule["AllowedMethods"] == ["POST"]


# -- authenticator ----------------------------------------------------------------------------


def test_authenticator_meets_the_lambda_at_edge_rules():
    t = load("authenticator")
    fn = t["Resources"]["Function"]["Properties"]
    assert fn["Runtime"] == LAMBDA_PYTHON  # tests/test_runtime.py: the product's one Python
    assert fn["Handler"] == f"{edgebuild.HANDLER}.handler"  # what privpi edge build zips
    assert (fn["MemorySize"], fn["Timeout"]) == (128, 5)
    assert "Environment" not in fn
    assert "Layers" not in fn
    assert "VpcConfig" not in fn
    assert fn["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
    trust = t["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"]["Service"] == ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]
    version = t["Resources"]["Version"]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["CodeSha256"] == {"Ref": "CodeSha256"}
    assert t["Outputs"]["VersionArn"]["Value"] == {"Ref": "Version"}


def test_authenticator_reads_the_user_store_and_the_root_index_and_nothing_else():
    policies = load("authenticator")["Resources"]["Role"]["Properties"]["Policies"]
    statements = [st for p in policies for st in p["PolicyDocument"]["Statement"]]
    s3 = [st for st in statements if "s3:" in str(st["Action"])]
    others = [st for st in statements if st not in s3]
    assert all(a.startswith("logs:") for st in others for a in st["Action"])
    assert s3 == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/config/users.json"},
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/packages/simple/index.json"},
            ],
        }
    ]
    groups = resources(load("authenticator"), "AWS::Logs::LogGroup").values()
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)


def test_optional_rate_limit_is_a_cloudfront_web_acl_blocking_each_ip_over_the_limit():
    t = load("authenticator")
    param = t["Parameters"]["RateLimitPer5Minutes"]
    assert param["Default"] == "0"  # off unless asked for
    assert t["Conditions"]["HasRateLimit"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "RateLimitPer5Minutes"}, "0"]}]
    }
    pattern = param["AllowedPattern"]
    assert [bool(re.fullmatch(pattern, v)) for v in ("0", "10", "2000000000", "5", "-1", "")] == [
        True, True, True, False, False, False
    ]  # fmt: skip
    (acl,) = resources(t, "AWS::WAFv2::WebACL").values()
    assert acl["Condition"] == "HasRateLimit"
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT"  # only a us-east-1 CLOUDFRONT ACL can attach
    assert props["DefaultAction"] == {"Allow": {}}
    (rule,) = props["Rules"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"] == {
        "RateBasedStatement": {
            "Limit": {"Ref": "RateLimitPer5Minutes"},
            "AggregateKeyType": "IP",
            "EvaluationWindowSec": 300,
        }
    }
    for visibility in (rule["VisibilityConfig"], props["VisibilityConfig"]):
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["SampledRequestsEnabled"] is True
    assert t["Outputs"]["WebAclArn"]["Value"] == {
        "Fn::If": ["HasRateLimit", {"Fn::GetAtt": ["WebAcl", "Arn"]}, ""]
    }


# -- distribution -----------------------------------------------------------------------------


def distribution_config() -> dict:
    return load("distribution")["Resources"]["Distribution"]["Properties"]["DistributionConfig"]


def test_distribution_uses_origin_access_control_not_oai():
    t = load("distribution")
    assert not resources(t, "AWS::CloudFront::CloudFrontOriginAccessIdentity")
    oac = t["Resources"]["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    (origin,) = distribution_config()["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert "OriginPath" not in origin  # the authenticator rewrites into /packages/ itself


def test_distribution_is_https_only_http2_and_3_tls12_with_a_certificate():
    dc = distribution_config()
    assert dc["HttpVersion"] == "http2and3"
    behaviours = [dc["DefaultCacheBehavior"], *dc["CacheBehaviors"]]
    assert {b["ViewerProtocolPolicy"] for b in behaviours} <= {"https-only", "redirect-to-https"}
    condition, with_alias, default = dc["ViewerCertificate"]["Fn::If"]
    assert condition == "HasAlias"
    assert with_alias["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert with_alias["AcmCertificateArn"] == {"Ref": "CertificateArn"}
    assert default == {"CloudFrontDefaultCertificate": True}
    assert dc["Aliases"]["Fn::If"][0] == "HasAlias"


def test_every_request_goes_through_the_authenticator_and_no_header_reaches_the_cache_key():
    t = load("distribution")
    dc = distribution_config()
    for b in [dc["DefaultCacheBehavior"], *dc["CacheBehaviors"]]:
        assert b["LambdaFunctionAssociations"] == [
            {
                "EventType": "viewer-request",
                "LambdaFunctionARN": {"Ref": "AuthenticatorVersionArn"},
                "IncludeBody": False,
            }
        ]
        assert "ForwardedValues" not in b
        assert "OriginRequestPolicyId" not in b
        policy = t["Resources"][b["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert key["HeadersConfig"] == {"HeaderBehavior": "none"}  # no Authorization to S3
        assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_web_acl_is_attached_only_when_given():
    t = load("distribution")
    assert t["Conditions"]["HasWebAcl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}]}
    assert distribution_config()["WebACLId"] == {
        "Fn::If": ["HasWebAcl", {"Ref": "WebAclArn"}, {"Ref": "AWS::NoValue"}]
    }
    pattern = t["Parameters"]["WebAclArn"]["AllowedPattern"]
    acl = "arn:aws:wafv2:{}:123456789012:{}/webacl/n-authenticator-rate-limit/a1b2c3d4-5678-90ab"
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, acl.format("us-east-1", "global"))
    assert not re.fullmatch(pattern, acl.format("eu-west-1", "regional"))  # not for CloudFront


def test_files_cached_long_index_pages_short_errors_never():
    t = load("distribution")
    dc = distribution_config()
    (files,) = dc["CacheBehaviors"]
    assert files["PathPattern"] == "files/*"

    def ttl(behaviour):
        cfg = t["Resources"][behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        return cfg["MaxTTL"]

    assert ttl(files) >= 365 * 86400
    assert ttl(dc["DefaultCacheBehavior"]) <= 300
    errors = {e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in dc["CustomErrorResponses"]}
    assert errors == {403: 0, 404: 0}


def test_index_pages_are_revalidated_on_every_request_files_kept():
    t = load("distribution")
    dc = distribution_config()

    def policy(behaviour):
        return t["Resources"][behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]

    index = policy(dc["DefaultCacheBehavior"])
    assert (index["MinTTL"], index["DefaultTTL"]) == (0, 0)
    # the objects themselves say max-age=0 (TTL 0: a conditional GET to S3 each time)
    assert keys.cache_control(keys.project_json("demo")) == "max-age=0"
    assert keys.cache_control(keys.ROOT_HTML) == "max-age=0"
    (files,) = dc["CacheBehaviors"]
    assert policy(files)["MaxTTL"] >= 365 * 86400
    assert "max-age=31536000" in keys.cache_control(keys.file_key("demo", "demo-1.0.tar.gz"))


def test_viewers_are_told_private_as_privpi_serve_tells_them():
    t = load("distribution")
    dc = distribution_config()

    def viewer_cache_control(behaviour):
        ref = behaviour["ResponseHeadersPolicyId"]["Ref"]
        config = t["Resources"][ref]["Properties"]["ResponseHeadersPolicyConfig"]
        (header,) = config["CustomHeadersConfig"]["Items"]
        assert (header["Header"], header["Override"]) == ("Cache-Control", True)
        return header["Value"]

    (files,) = dc["CacheBehaviors"]
    assert viewer_cache_control(dc["DefaultCacheBehavior"]) == keys.VIEWER_INDEX_CACHE
    assert viewer_cache_control(files) == keys.VIEWER_FILE_CACHE
    assert keys.VIEWER_INDEX_CACHE.startswith("private,")
    assert keys.VIEWER_FILE_CACHE.startswith("private,")
    served = keys.viewer_cache_control(keys.file_key("demo", "demo-1.0.tar.gz"))
    assert served == keys.VIEWER_FILE_CACHE


# -- wiring between the stacks ----------------------------------------------------------------


def deploy_parameters() -> dict[str, set[str]]:
    """The parameter names privpi deploy passes to each stack."""
    d = Deployer(Settings(name="x", region="eu-west-1"), clients=lambda *_: None, echo=print)
    bucket_out = {"BucketRegionalDomainName": "b"}
    code = dict.fromkeys(("BucketName", "CodeBucket", "CodeKey", "CodeSha256"), "")
    return {
        "bucket": set(d.bucket_params({"bucket": None, "distribution": None})),
        "authenticator": set(d.authenticator_params({"authenticator": None}, code)),
        "distribution": set(d.distribution_params({"distribution": None}, bucket_out, "arn")),
    }


@pytest.mark.parametrize("part", ["bucket", "authenticator", "distribution"])
def test_deploy_passes_every_parameter_without_a_default(part):
    params = load(part)["Parameters"]
    required = {k for k, v in params.items() if "Default" not in v}
    passed = deploy_parameters()[part]
    assert required <= passed
    assert passed <= set(params)


def test_outputs_feed_the_next_stack():
    bucket, auth, dist = load("bucket"), load("authenticator"), load("distribution")
    assert {"BucketName", "BucketRegionalDomainName", "StorageUrl", "ConsoleRoleArn"} <= set(
        bucket["Outputs"]
    )
    assert "BucketName" in auth["Parameters"]
    assert "VersionArn" in auth["Outputs"]
    assert "WebAclArn" in auth["Outputs"]
    assert "WebAclArn" in dist["Parameters"]
    assert "DistributionArn" in dist["Outputs"]
    assert "DistributionArn" in bucket["Parameters"]
    assert "RepositoryUrl" in dist["Outputs"]


def test_the_moto_stand_in_has_the_real_distribution_interface():
    real = load("distribution")
    standin = load_template(Path(__file__).parent / "deploy_standins" / "distribution.yaml")
    assert set(standin["Parameters"]) == set(real["Parameters"])
    assert set(standin["Outputs"]) == set(real["Outputs"])
    assert standin["Conditions"] == real["Conditions"]
